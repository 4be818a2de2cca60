// ekpeer: the Go crypto/tls side of ekuscope's samples (see
// samples/make-stack-samples.sh).  One process is a server (-listen) or a
// client (-connect) for N connections; a client keeps one session cache
// across its connections, so connections 2..N resume (TLS 1.2 ticket or
// TLS 1.3 PSK).  After the handshake the server sends one line, the client
// reads it (so TLS 1.3 tickets are taken in) and closes with close_notify.
// Secrets go to -keylog (crypto/tls Config.KeyLogWriter, NSS format).
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
)

func main() {
	listen := flag.String("listen", "", "server: address to listen on")
	connect := flag.String("connect", "", "client: address to connect to")
	certFile := flag.String("cert", "", "PEM: leaf then chain")
	keyFile := flag.String("key", "", "PEM private key")
	caFile := flag.String("ca", "", "PEM roots to verify the peer with")
	clientAuth := flag.String("clientauth", "none", "server: none|request|require")
	version := flag.String("tls", "1.2", "1.2 or 1.3 (both minimum and maximum)")
	count := flag.Int("n", 1, "connections")
	keylog := flag.String("keylog", "", "append TLS secrets to this file")
	serverName := flag.String("servername", "", "client: SNI and name to verify")
	noTicket := flag.Bool("noticket", false, "server: no session tickets")
	flag.Parse()

	cfg := &tls.Config{ServerName: *serverName, SessionTicketsDisabled: *noTicket}
	switch *version {
	case "1.2":
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	case "1.3":
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	default:
		log.Fatalf("-tls %q: 1.2 or 1.3", *version)
	}
	if *certFile != "" {
		c, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			log.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			log.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			log.Fatalf("%s: no certificate", *caFile)
		}
		cfg.RootCAs, cfg.ClientCAs = pool, pool
	}
	switch *clientAuth {
	case "none":
	case "request":
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case "require":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		log.Fatalf("-clientauth %q: none|request|require", *clientAuth)
	}
	if *keylog != "" {
		f, err := os.OpenFile(*keylog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		cfg.KeyLogWriter = f
	}

	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("listening")
		for i := 0; i < *count; i++ {
			c, err := ln.Accept()
			if err != nil {
				log.Fatal(err)
			}
			serve(tls.Server(c, cfg))
		}
		return
	}
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	for i := 0; i < *count; i++ {
		c, err := tls.Dial("tcp", *connect, cfg)
		if err != nil {
			log.Printf("connection %d: %v", i+1, err)
			continue
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		st := c.ConnectionState()
		log.Printf("connection %d: resumed=%v version=%x read %q %v", i+1, st.DidResume, st.Version, line, err)
		c.Close()
	}
}

// serve: handshake, one line, then wait for the client's close.
func serve(c *tls.Conn) {
	defer c.Close()
	if err := c.Handshake(); err != nil {
		log.Printf("handshake: %v", err)
		return
	}
	st := c.ConnectionState()
	log.Printf("handshake ok: resumed=%v client certs=%d", st.DidResume, len(st.PeerCertificates))
	if _, err := io.WriteString(c, "ok\n"); err != nil {
		log.Printf("write: %v", err)
		return
	}
	_, _ = io.Copy(io.Discard, c)
}
