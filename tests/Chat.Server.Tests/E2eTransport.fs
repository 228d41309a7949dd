namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.IO
open System.Net.Security
open System.Net.Sockets
open System.Security.Authentication
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates
open System.Text
open NUnit.Framework

/// TLS only, 1.2 and 1.3, with the certificate of --cert-dir (PROTOCOL.md "Transport").
[<TestFixture>]
type E2eTransport() =
    inherit ServerFixture([])

    [<TestCase("LOGIN alice password123\n")>]
    [<TestCase("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")>]
    [<TestCase("\n")>]
    member this.``plaintext gets one ERR TLS_REQUIRED line and is closed``(first: string) =
        use tcp = Raw.connect this.Server.Port
        tcp.GetStream().Write(Encoding.ASCII.GetBytes first)
        let received, closed, error = Raw.readToEnd tcp

        Assert.That(
            Encoding.ASCII.GetString received,
            Is.EqualTo "ERR TLS_REQUIRED this server accepts TLS connections only\n",
            error
        )

        Assert.That(closed, Is.True, "closed")

    [<TestCase(0x0301)>]
    [<TestCase(0x0302)>]
    member this.``a ClientHello offering only TLS 1.0 or 1.1 gets no ServerHello``(version: int) =
        use tcp = Raw.connect this.Server.Port
        tcp.GetStream().Write(Raw.clientHello version)
        let received, closed, error = Raw.readToEnd tcp
        let shown = BitConverter.ToString received
        Assert.That(closed, Is.True, $"the server kept the connection open after: {shown}")

        if received.Length > 0 then
            Assert.That(
                received[0],
                Is.EqualTo 0x15uy,
                $"expected a TLS alert record or nothing, got {shown} ({error})"
            )

    [<Test>]
    member this.``a TLS 1.1 client is refused (when the platform lets it try)``() =
        use tcp = Raw.connect this.Server.Port
        use counting = new CountingStream(tcp.GetStream())
        use ssl = new SslStream(counting, false, (fun _ _ _ _ -> true))
        let tls11 = enum<SslProtocols> 0x300

        let options =
            SslClientAuthenticationOptions(TargetHost = "localhost", EnabledSslProtocols = tls11)

        let outcome =
            try
                ssl.AuthenticateAsClient options
                Ok ssl.SslProtocol
            with e ->
                Error e

        match outcome with
        | Ok protocol -> Assert.Fail($"the server completed a handshake with {protocol}")
        | Error e when counting.Written = 0L -> Assert.Ignore($"this platform does not attempt TLS 1.1: {e.Message}")
        | Error _ -> ()

    [<TestCase(SslProtocols.Tls12)>]
    [<TestCase(SslProtocols.Tls13)>]
    member this.``TLS 1.2 and 1.3 work, with an AEAD suite``(protocol: SslProtocols) =
        let c =
            TestClient.Connect(this.Server.Port, this.Server.CertFile, protocols = protocol)

        use _ = c
        let token = (string protocol).ToLowerInvariant()
        Assert.That(c.NegotiatedProtocol, Is.EqualTo protocol)
        Assert.That(string c.Ssl.NegotiatedCipherSuite, Does.Match "_(GCM|CCM|CHACHA20_POLY1305)(_|$)")
        Assert.That(c.Command $"/ping {token}", Is.EqualTo $"OK PONG {token}")

    [<Test>]
    member this.``a TLS 1.2 client offering only a CBC suite gets no HELLO and is closed``() =
        use tcp = Raw.connect this.Server.Port
        use ssl = new SslStream(tcp.GetStream(), false, (fun _ _ _ _ -> true))

        let options =
            SslClientAuthenticationOptions(
                TargetHost = "localhost",
                EnabledSslProtocols = SslProtocols.Tls12,
                CipherSuitesPolicy = CipherSuitesPolicy([ TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 ])
            )

        let handshake =
            try
                ssl.AuthenticateAsClient options
                Ok ssl.NegotiatedCipherSuite
            with e ->
                Error e.Message

        match handshake with
        | Error _ -> () // refused during the handshake: just as good
        | Ok suite ->
            Assert.That(suite, Is.EqualTo TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256)
            let received, closed, error = Raw.readStreamToEnd ssl
            Assert.That(Encoding.UTF8.GetString received, Is.Empty, error)
            Assert.That(closed, Is.True, "closed")

    [<Test>]
    member this.``the server presents the certificate of --cert-dir, for localhost and 127.0.0.1, and logs its SHA-256``
        ()
        =
        let file = X509Certificate2.CreateFromPem(File.ReadAllText this.Server.CertFile)
        let c = this.Connect()
        Assert.That(c.Ssl.RemoteCertificate.GetRawCertData(), Is.EqualTo(box file.RawData))

        for host in [ "localhost"; "127.0.0.1" ] do
            let mutable errors = SslPolicyErrors.None
            use tcp = Raw.connect this.Server.Port

            use ssl =
                new SslStream(
                    tcp.GetStream(),
                    false,
                    (fun _ _ _ e ->
                        errors <- e
                        true)
                )

            ssl.AuthenticateAsClient(SslClientAuthenticationOptions(TargetHost = host))
            Assert.That(errors &&& SslPolicyErrors.RemoteCertificateNameMismatch, Is.EqualTo SslPolicyErrors.None, host)

        let sha = SHA256.HashData file.RawData |> Convert.ToHexString

        let logged =
            this.Server.StdOut |> List.map (fun l -> l.Replace(":", "").ToUpperInvariant())

        Assert.That(
            logged |> List.exists (fun l -> l.Contains sha),
            Is.True,
            $"SHA-256 {sha} in\n{this.Server.OutputText()}"
        )

    [<Test>]
    member this.``a second start with the same --cert-dir reuses the certificate``() =
        let before = File.ReadAllBytes this.Server.CertFile
        use again = ServerProcess.Start(certDir = this.Server.CertDir)
        Assert.That(File.ReadAllBytes again.CertFile, Is.EqualTo(box before))
        let pem: string = Encoding.ASCII.GetString before
        let der = X509Certificate2.CreateFromPem(pem).RawData
        let c = this.ConnectTo(again, "again")
        Assert.That(c.Ssl.RemoteCertificate.GetRawCertData(), Is.EqualTo(box der))

    [<Test>]
    member this.``instances started on one --cert-dir present one certificate, each with its --server-id``() =
        let nodes = ServerProcess.StartCluster(2, [], "edge")

        try
            let clients = nodes |> List.mapi (fun i s -> this.ConnectTo(s, $"edge{i + 1}"))
            let ders = clients |> List.map (fun c -> c.Ssl.RemoteCertificate.GetRawCertData())
            Assert.That(ders[1], Is.EqualTo(box ders[0]))
            Assert.That(clients |> List.map (fun c -> c.Hello.Split(' ')[2]), Is.EqualTo(box [ "edge1"; "edge2" ]))
        finally
            for s in nodes do
                (s :> IDisposable).Dispose()

/// --handshake-timeout and --login-timeout.
[<TestFixture>]
type E2eTimeouts() =
    inherit ServerFixture([ "--handshake-timeout"; "1"; "--login-timeout"; "1" ])

    let closedWithin (tcp: TcpClient) =
        let sw = Stopwatch.StartNew()
        let received, closed, error = Raw.readToEnd tcp
        Assert.That(closed, Is.True, "still open after 10 s")
        Assert.That(received, Is.Empty, error)
        sw.Elapsed

    [<Test>]
    member this.``a connection that sends nothing is dropped after the handshake timeout``() =
        use tcp = Raw.connect this.Server.Port
        Assert.That(closedWithin tcp, Is.GreaterThan(TimeSpan.FromSeconds 0.5))

    [<Test>]
    member this.``a TLS handshake that stalls is dropped after the handshake timeout``() =
        use tcp = Raw.connect this.Server.Port
        let hello = Raw.clientHello 0x0303
        tcp.GetStream().Write(hello, 0, 20)
        Assert.That(closedWithin tcp, Is.GreaterThan(TimeSpan.FromSeconds 0.5))

    [<Test>]
    member this.``no login within the login timeout: ERR LOGIN_TIMEOUT, then closed``() =
        let c = this.Connect()
        Assert.That(c.Command "/ping not a login", Is.EqualTo "OK PONG not a login")
        c.ExpectPrefix("ERR LOGIN_TIMEOUT ", TimeSpan.FromSeconds 10.0) |> ignore
        c.WaitClosed()

    [<Test>]
    member this.``a session that logged in in time stays``() =
        let c, _ = this.User "quick"
        c.ExpectNothing((fun l -> l.StartsWith "ERR "), TimeSpan.FromSeconds 2.5, "error")
        c.Sync()
        Assert.That(c.IsClosed, Is.False)
