package controlplane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// functionPKI holds the certificates of the mTLS link between Crossplane
// core and an in-process function. Core has no insecure mode, so even a
// function in the test binary needs a CA, a client certificate for core and a
// server certificate for the function.
type functionPKI struct {
	// ClientDir holds ca.crt, tls.crt and tls.key for core
	// (TLS_CLIENT_CERTS_DIR).
	ClientDir string
	// ServerDir holds ca.crt, tls.crt and tls.key for the function server
	// (function.MTLSCertificates).
	ServerDir string
}

// newFunctionPKI writes a fresh CA and the two leaf certificates under dir.
func newFunctionPKI(dir string) (functionPKI, error) {
	pki := functionPKI{ClientDir: filepath.Join(dir, "client"), ServerDir: filepath.Join(dir, "server")}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return pki, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "aichat-e2e-function-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return pki, fmt.Errorf("cannot create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return pki, err
	}
	leaves := []struct {
		dir   string
		cn    string
		usage x509.ExtKeyUsage
	}{
		{pki.ClientDir, "crossplane", x509.ExtKeyUsageClientAuth},
		{pki.ServerDir, "function", x509.ExtKeyUsageServerAuth},
	}
	for i, l := range leaves {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return pki, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 2)),
			Subject:      pkix.Name{CommonName: l.cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{l.usage},
			// Core dials the endpoint it reads from the FunctionRevision
			// (dns:///localhost:PORT), and verifies the name against these.
			DNSNames:    []string{"localhost"},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return pki, fmt.Errorf("cannot create %s certificate: %w", l.cn, err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return pki, err
		}
		if err := os.MkdirAll(l.dir, 0o700); err != nil {
			return pki, err
		}
		files := map[string][]byte{
			"ca.crt":  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
			"tls.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			"tls.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(l.dir, name), b, 0o600); err != nil {
				return pki, err
			}
		}
	}
	return pki, nil
}
