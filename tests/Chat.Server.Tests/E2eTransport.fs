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
open Expecto
open Chat.Testing

/// TLS only, 1.2 and 1.3, with the certificate of --cert-dir (PROTOCOL.md "Transport").
module E2eTransport =
    [<Tests>]
    let tests =
        ServerSuite.tests "E2eTransport" [] [
            yield!
                cases "plaintext gets one ERR TLS_REQUIRED line and is closed" [
                    "LOGIN alice password123\n"
                    "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
                    "\n"
                ]
                <| fun (this: ServerFixture) (first: string) ->

                    use tcp = Raw.connect this.Server.Port
                    tcp.GetStream().Write(Encoding.ASCII.GetBytes first)
                    let received, closed, error = Raw.readToEnd tcp

                    Expect.equal
                        (Encoding.ASCII.GetString received)
                        "ERR TLS_REQUIRED this server accepts TLS connections only\n"
                        error

                    Expect.isTrue closed "closed"
            yield!
                cases "a ClientHello offering only TLS 1.0 or 1.1 gets no ServerHello" [ 0x0301; 0x0302 ]
                <| fun (this: ServerFixture) (version: int) ->
                    use tcp = Raw.connect this.Server.Port
                    tcp.GetStream().Write(Raw.clientHello version)
                    let received, closed, error = Raw.readToEnd tcp
                    let shown = BitConverter.ToString received
                    Expect.isTrue closed $"the server kept the connection open after: {shown}"

                    if received.Length > 0 then
                        Expect.equal
                            (received[0])
                            0x15uy
                            $"expected a TLS alert record or nothing, got {shown} ({error})"

            case "a TLS 1.1 client is refused (when the platform lets it try)"
            <| fun (this: ServerFixture) ->
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
                | Ok protocol -> failtest $"the server completed a handshake with {protocol}"
                | Error e when counting.Written = 0L -> skiptest $"this platform does not attempt TLS 1.1: {e.Message}"
                | Error _ -> ()
            yield!
                cases "TLS 1.2 and 1.3 work, with an AEAD suite" [ SslProtocols.Tls12; SslProtocols.Tls13 ]
                <| fun (this: ServerFixture) (protocol: SslProtocols) ->
                    let c =
                        LineClient.Connect(this.Server.Port, this.Server.CertFile, protocols = protocol)

                    use _ = c
                    let token = (string protocol).ToLowerInvariant()
                    Expect.equal c.NegotiatedProtocol protocol "c.NegotiatedProtocol"

                    Expect.isMatch
                        (string c.Ssl.NegotiatedCipherSuite)
                        "_(GCM|CCM|CHACHA20_POLY1305)(_|$)"
                        "string c.Ssl.NegotiatedCipherSuite"

                    Expect.equal (c.Command $"/ping {token}") $"OK PONG {token}" "c.Command $'/ping {token}'"

            case "a TLS 1.2 client offering only a CBC suite gets no HELLO and is closed"
            <| fun (this: ServerFixture) ->
                use tcp = Raw.connect this.Server.Port
                use ssl = new SslStream(tcp.GetStream(), false, (fun _ _ _ _ -> true))

                let options =
                    SslClientAuthenticationOptions(
                        TargetHost = "localhost",
                        EnabledSslProtocols = SslProtocols.Tls12,
                        CipherSuitesPolicy =
                            CipherSuitesPolicy([ TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 ])
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
                    Expect.equal suite TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 "suite"
                    let received, closed, error = Raw.readStreamToEnd ssl
                    Expect.isEmpty (Encoding.UTF8.GetString received) error
                    Expect.isTrue closed "closed"

            case "the server presents the certificate of --cert-dir, for localhost and 127.0.0.1, and logs its SHA-256"
            <| fun (this: ServerFixture) ->
                let file = X509Certificate2.CreateFromPem(File.ReadAllText this.Server.CertFile)
                let c = this.Connect()

                Expect.equal
                    (c.Ssl.RemoteCertificate.GetRawCertData())
                    (file.RawData)
                    "c.Ssl.RemoteCertificate.GetRawCertData()"

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
                    Expect.equal (errors &&& SslPolicyErrors.RemoteCertificateNameMismatch) SslPolicyErrors.None host

                let sha = SHA256.HashData file.RawData |> Convert.ToHexString

                let logged =
                    this.Server.StdOut |> List.map (fun l -> l.Replace(":", "").ToUpperInvariant())

                Expect.isTrue
                    (logged |> List.exists (fun l -> l.Contains sha))
                    $"SHA-256 {sha} in\n{this.Server.OutputText()}"

            case "a second start with the same --cert-dir reuses the certificate"
            <| fun (this: ServerFixture) ->
                let before = File.ReadAllBytes this.Server.CertFile
                use again = ServerProcess.Start(certDir = this.Server.CertDir)
                Expect.equal (File.ReadAllBytes again.CertFile) (before) "File.ReadAllBytes again.CertFile"
                let pem: string = Encoding.ASCII.GetString before
                let der = X509Certificate2.CreateFromPem(pem).RawData
                let c = this.ConnectTo(again, "again")
                Expect.equal (c.Ssl.RemoteCertificate.GetRawCertData()) (der) "c.Ssl.RemoteCertificate.GetRawCertData()"

            case "instances started on one --cert-dir present one certificate, each with its --server-id"
            <| fun (this: ServerFixture) ->
                let nodes = ServerProcess.StartCluster(2, [], "edge")

                try
                    let clients = nodes |> List.mapi (fun i s -> this.ConnectTo(s, $"edge{i + 1}"))
                    let ders = clients |> List.map (fun c -> c.Ssl.RemoteCertificate.GetRawCertData())
                    Expect.equal (ders[1]) (ders[0]) "ders[1]"

                    Expect.equal
                        (clients |> List.map (fun c -> c.Hello.Split(' ')[2]))
                        ([ "edge1"; "edge2" ])
                        "clients |> List.map (fun c -> c.Hello.Split(' ')[2])"
                finally
                    for s in nodes do
                        (s :> IDisposable).Dispose()
        ]

/// --handshake-timeout and --login-timeout.
module E2eTimeouts =
    let private closedWithin (tcp: TcpClient) =
        let sw = Stopwatch.StartNew()
        let received, closed, error = Raw.readToEnd tcp
        Expect.isTrue closed "still open after 10 s"
        Expect.isEmpty received error
        sw.Elapsed

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eTimeouts" [ "--handshake-timeout"; "1"; "--login-timeout"; "1" ] [
            case "a connection that sends nothing is dropped after the handshake timeout"
            <| fun (this: ServerFixture) ->
                use tcp = Raw.connect this.Server.Port
                Expect.isGreaterThan (closedWithin tcp) (TimeSpan.FromSeconds 0.5) "closedWithin tcp"

            case "a TLS handshake that stalls is dropped after the handshake timeout"
            <| fun (this: ServerFixture) ->
                use tcp = Raw.connect this.Server.Port
                let hello = Raw.clientHello 0x0303
                tcp.GetStream().Write(hello, 0, 20)
                Expect.isGreaterThan (closedWithin tcp) (TimeSpan.FromSeconds 0.5) "closedWithin tcp"

            case "no login within the login timeout: ERR LOGIN_TIMEOUT, then closed"
            <| fun (this: ServerFixture) ->
                let c = this.Connect()
                Expect.equal (c.Command "/ping not a login") "OK PONG not a login" "c.Command '/ping not a login'"
                c.ExpectPrefix("ERR LOGIN_TIMEOUT ", TimeSpan.FromSeconds 10.0) |> ignore
                c.WaitClosed()

            case "a session that logged in in time stays"
            <| fun (this: ServerFixture) ->
                let c, _ = this.User "quick"
                c.ExpectNothing((fun l -> l.StartsWith "ERR "), TimeSpan.FromSeconds 2.5, "error")
                c.Sync()
                Expect.isFalse c.IsClosed "c.IsClosed"
        ]
