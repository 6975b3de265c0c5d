# syntax=docker/dockerfile:1
# The function's runtime image, for people with Docker. It has the layout of
# the offline build (`make package`, FunctionImage in
# package/build/layout.go): static /function, /model-job and /sre, the CA bundle,
# user 65532:65532, entrypoint /function, on an empty base.
# package/build/dockerfile_test.go checks this file against that layout, so
# edit both together. The portal's image has its own, portal/Dockerfile.
#
#   docker build --build-arg VERSION=v0.1.0 \
#     -t ghcr.io/aichatworkspaces/function-aichat-workspace:v0.1.0 .
#
# To package it, `docker save` the image to a tarball and pass it to
# `crossplane xpkg build --embed-runtime-image-tarball`, as `make package` does.

# The builder runs on the build machine's platform and cross-compiles, which
# CGO_ENABLED=0 makes trivial.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG VERSION=v0.1.0
ARG TARGETOS=linux
ARG TARGETARCH=amd64
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
# Only the packages the three programs are built from.
COPY apis/ apis/
COPY function/ function/
COPY sre/ sre/
ENV CGO_ENABLED=0
RUN GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath \
      -ldflags "-s -w -X github.com/aichatworkspaces/workspaces/function/version.Version=${VERSION}" \
      -o /out/ ./function/cmd/function ./function/cmd/model-job ./sre/cmd/sre

FROM scratch
ARG VERSION=v0.1.0
LABEL org.opencontainers.image.title="function-aichat-workspace" \
      org.opencontainers.image.description="AIChat Workspaces composition function and model Job program" \
      org.opencontainers.image.source="https://github.com/aichatworkspaces/workspaces" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# Debian's ca-certificates from the golang image: model-job fetches fabric
# patterns over HTTPS.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/function /out/model-job /out/sre /
USER 65532:65532
WORKDIR /
EXPOSE 9443/tcp
ENTRYPOINT ["/function"]
