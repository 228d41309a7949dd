namespace Chat.Server.Tests

open System
open System.IO
open System.Net
open System.Net.Security
open System.Security.Authentication
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates
open System.Text
open Expecto
open Chat.Testing

/// A server on its generated ECDSA certificate, or on an RSA one (so that the static-RSA and
/// ECDHE-RSA suites can be offered at all); nothing else shared between the tests.
type TlsSuitesFixture(rsa: bool) =
    static let rsaCertDir () =
        let dir =
            Path.Combine(Path.GetTempPath(), "chat-rsa-" + Guid.NewGuid().ToString "N")

        Directory.CreateDirectory dir |> ignore
        use key = RSA.Create 2048

        let request =
            CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)

        let san = SubjectAlternativeNameBuilder()
        san.AddDnsName "localhost"
        san.AddIpAddress IPAddress.Loopback
        request.CertificateExtensions.Add(san.Build())
        let now = DateTimeOffset.UtcNow
        use cert = request.CreateSelfSigned(now.AddDays -1.0, now.AddDays 7.0)
        File.WriteAllText(Path.Combine(dir, "server.crt"), cert.ExportCertificatePem())
        File.WriteAllText(Path.Combine(dir, "server.key"), key.ExportPkcs8PrivateKeyPem())
        dir

    let dir = if rsa then Some(rsaCertDir ()) else None
    let server = ServerProcess.Start(?certDir = dir)

    member _.Server = server

    interface ITestScope with
        member _.EndTest() = []

        member _.Diagnostics() =
            $"server output:\n{server.OutputText 80}"

    interface IDisposable with
        member _.Dispose() =
            (server :> IDisposable).Dispose()

            match dir with
            | Some d -> Directory.Delete(d, true)
            | None -> ()

/// The handshake itself offers and accepts only TLS 1.3 and forward-secret AEAD suites of TLS 1.2
/// (ECDHE with AES-GCM or ChaCha20-Poly1305): a client that offers only a weak suite is refused in
/// the handshake, before any chat line (PROTOCOL.md "Transport"; TlsPolicy in the server).
module E2eTlsSuites =
    /// A handshake offering only `suite` under `protocol`: the suite and the first line the server
    /// sent, or the exception, and whether the client sent anything at all.
    let private offer (port: int) (protocol: SslProtocols) (suite: TlsCipherSuite) =
        use tcp = Raw.connect port
        use counting = new CountingStream(tcp.GetStream())
        use ssl = new SslStream(counting, false, (fun _ _ _ _ -> true))

        let options =
            SslClientAuthenticationOptions(
                TargetHost = "localhost",
                EnabledSslProtocols = protocol,
                CipherSuitesPolicy = CipherSuitesPolicy [ suite ]
            )

        let outcome =
            try
                ssl.AuthenticateAsClient options
                let line = ResizeArray<byte>()
                let one = Array.zeroCreate<byte> 1

                while (line.Count = 0 || line[line.Count - 1] <> 10uy) && ssl.Read(one, 0, 1) = 1 do
                    line.Add one[0]

                Ok(ssl.NegotiatedCipherSuite, Encoding.UTF8.GetString(line.ToArray()).TrimEnd '\n')
            with e ->
                Error e

        outcome, counting.Written > 0L

    let private refused (this: TlsSuitesFixture) (protocol: SslProtocols) (suite: TlsCipherSuite) =
        match offer this.Server.Port protocol suite with
        | Ok(agreed, line), _ -> failtest $"the server completed a handshake on {agreed} and sent {line}"
        | Error e, false -> skiptest $"this platform's client does not offer {suite}: {e.Message}"
        | Error e, true ->
            Expect.isTrue
                (e :? AuthenticationException || e :? IOException)
                $"refused in the handshake (AuthenticationException, or closed), got {e.GetType().Name}: {e.Message}"

    let private accepted (this: TlsSuitesFixture) (protocol: SslProtocols) (suite: TlsCipherSuite) =
        match offer this.Server.Port protocol suite with
        | Ok(agreed, line), _ ->
            Expect.equal agreed suite "the negotiated suite"
            Expect.stringStarts line "HELLO " "the server's first line"
        | Error e, _ -> failtest $"the handshake on {suite} failed: {e.GetType().Name}: {e.Message}"

    let private tls12 = SslProtocols.Tls12
    let private tls13 = SslProtocols.Tls13

    [<Tests>]
    let ecdsa =
        Harness.shared "E2eTlsSuites" (fun () -> new TlsSuitesFixture(false)) [
            yield!
                cases "TLS 1.2 offering only a CBC suite is refused in the handshake" [
                    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
                    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
                    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
                    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
                ]
                <| fun this suite -> refused this tls12 suite
            yield!
                cases "TLS 1.2 offering only an ECDHE AEAD suite gets in" [
                    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
                    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
                ]
                <| fun this suite -> accepted this tls12 suite
            yield!
                cases "TLS 1.3 offering only one suite gets in" [
                    TlsCipherSuite.TLS_AES_128_GCM_SHA256
                    TlsCipherSuite.TLS_AES_256_GCM_SHA384
                    TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256
                ]
                <| fun this suite -> accepted this tls13 suite
            yield!
                cases "a ClientHello offering only TLS 1.0 or 1.1 gets an alert or nothing, no ServerHello" [
                    0x0301
                    0x0302
                ]
                <| fun (this: TlsSuitesFixture) (version: int) ->
                    use tcp = Raw.connect this.Server.Port
                    tcp.GetStream().Write(Raw.clientHello version)
                    let received, closed, error = Raw.readToEnd tcp
                    let shown = BitConverter.ToString received
                    Expect.isTrue closed $"the server kept the connection open after: {shown}"

                    if received.Length > 0 then
                        Expect.equal received[0] 0x15uy $"expected a TLS alert record or nothing, got {shown} ({error})"

            case "the server logs that its startup check found TLS restricted"
            <| fun (this: TlsSuitesFixture) ->
                Expect.isTrue
                    (this.Server.StdOut
                     |> List.exists (fun l -> l.Contains "TLS restricted to AEAD suites"))
                    (this.Server.OutputText())

            // The server sets SSL_MODE_RELEASE_BUFFERS through a private detail of SslStream
            // (TlsBuffers.fs); on a runtime where that detail changed it warns, and this fails.
            case "the server can release OpenSSL's buffers of idle connections on this runtime"
            <| fun (this: TlsSuitesFixture) ->
                Expect.isFalse
                    (this.Server.StdOut
                     |> List.exists (fun l -> l.Contains "SslStream has an unknown shape"))
                    (this.Server.OutputText())

            case "an OPENSSL_CONF that OpenSSL cannot apply: one line on stderr naming it, exit code 2"
            <| fun (_: TlsSuitesFixture) ->
                let result =
                    ServerProcess.Run([], env = [ "OPENSSL_CONF", "/nonexistent/chat-openssl.cnf" ])

                let text = String.concat "\n" (result.StdOut @ result.StdErr)
                Expect.equal result.Code 2 text
                let lines = result.StdErr |> List.filter (String.IsNullOrWhiteSpace >> not)
                Expect.hasLength lines 1 text
                Expect.stringContains lines.Head "not restricted to AEAD suites" text
                Expect.stringContains lines.Head "OPENSSL_CONF=/nonexistent/chat-openssl.cnf" text
                Expect.isFalse (result.StdOut |> List.exists (fun l -> l.Contains "listening on")) text
        ]

    [<Tests>]
    let rsa =
        Harness.shared "E2eTlsSuitesRsa" (fun () -> new TlsSuitesFixture(true)) [
            yield!
                cases "with an RSA certificate, TLS 1.2 offering only a CBC, static-RSA or DHE suite is refused" [
                    TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
                    TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
                    TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
                    TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
                    TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256
                    TlsCipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384
                    TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256
                    TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA
                    TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA
                    TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
                    TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_CBC_SHA
                ]
                <| fun this suite -> refused this tls12 suite
            yield!
                cases "with an RSA certificate, TLS 1.2 offering only an ECDHE AEAD suite gets in" [
                    TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
                    TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
                    TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
                ]
                <| fun this suite -> accepted this tls12 suite
        ]
