// Command function serves the AIChat workspace composition function over
// gRPC, as Crossplane runs it (mTLS) or locally for render (--insecure).
package main

import (
	"github.com/alecthomas/kong"
	sdk "github.com/crossplane/function-sdk-go"

	"github.com/aichatworkspaces/workspaces/function"
	"github.com/aichatworkspaces/workspaces/function/version"
)

// CLI is the function's command line. Crossplane sets TLS_SERVER_CERTS_DIR
// when it runs the function package.
type CLI struct {
	Debug              bool   `short:"d" help:"Emit debug logs in addition to info logs."`
	Network            string `default:"tcp" help:"Network on which to listen for gRPC connections."`
	Address            string `default:":9443" help:"Address at which to listen for gRPC connections."`
	TLSCertsDir        string `env:"TLS_SERVER_CERTS_DIR" help:"Directory containing server certs (tls.key, tls.crt) and the CA used to verify client certificates (ca.crt)."`
	Insecure           bool   `help:"Run without mTLS credentials. If you supply this flag --tls-certs-dir will be ignored."`
	MaxRecvMessageSize int    `default:"4" help:"Maximum size of received messages in MB."`
	MetricsAddress     string `default:":8080" help:"Address of the Prometheus metrics server; empty disables it."`

	// Version names the image a running function came from (stamped by
	// the package build).
	Version kong.VersionFlag `help:"Print the version and exit."`
}

// Run serves the function until the process is stopped.
func (c *CLI) Run() error {
	log, err := sdk.NewLogger(c.Debug)
	if err != nil {
		return err
	}
	opts := []sdk.ServeOption{
		sdk.Listen(c.Network, c.Address),
		sdk.MTLSCertificates(c.TLSCertsDir),
		sdk.Insecure(c.Insecure),
		sdk.MaxRecvMessageSize(c.MaxRecvMessageSize * 1024 * 1024),
	}
	opts = append(opts, sdk.WithMetricsServer(c.MetricsAddress))
	return sdk.Serve(function.New(log), opts...)
}

func main() {
	ctx := kong.Parse(&CLI{},
		kong.Description("The AIChat workspace composition function."),
		kong.Vars{"version": version.Version})
	ctx.FatalIfErrorf(ctx.Run())
}
