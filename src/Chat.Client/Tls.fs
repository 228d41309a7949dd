namespace Chat.Client

open System
open System.IO
open System.Net.Security
open System.Net.Sockets
open System.Security.Authentication
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates
open System.Text
open System.Threading

/// Decides about the server certificate during the handshake and remembers why it said no, because SslStream
/// only reports "rejected by the callback" and the user needs to know which check failed and how to fix it.
type internal Verifier(host: string, trust: Trust) =
    let mutable rejection: ConnectError option = None

    static let asCert2 (cert: X509Certificate) =
        match cert with
        | :? X509Certificate2 as c -> c
        | c -> X509CertificateLoader.LoadCertificate(c.GetRawCertData())

    static let names (cert: X509Certificate2) =
        let san =
            cert.Extensions
            |> Seq.tryFind (fun e -> e.Oid.Value = "2.5.29.17")
            |> Option.map (fun e -> X509SubjectAlternativeNameExtension(e.RawData, e.Critical))

        match san with
        | Some san -> [
            yield! san.EnumerateDnsNames()
            yield! san.EnumerateIPAddresses() |> Seq.map string
          ]
        | None ->
            // Certificates without SAN are matched on the subject's common name, so that is what they "name".
            [ cert.GetNameInfo(X509NameType.DnsName, false) ]
            |> List.filter (String.IsNullOrEmpty >> not)

    member _.Rejection = rejection

    member _.Check (cert: X509Certificate) (chain: X509Chain) (errors: SslPolicyErrors) : bool =
        let refuse why =
            rejection <- Some why
            false

        if isNull cert then
            refuse NoCertificate
        else
            let cert2 = asCert2 cert

            let presented = {
                Fingerprint = Fingerprint.format (Fingerprint.ofDer cert2.RawData)
                Names = names cert2
            }

            match trust with
            // A pin names one certificate: its issuer and names say nothing more, so they are not checked.
            | Pinned pin -> Fingerprint.matches pin cert2.RawData || refuse (WrongPin presented)
            | SystemStore
            | CaFile _ ->
                if errors = SslPolicyErrors.None then
                    true
                elif errors.HasFlag SslPolicyErrors.RemoteCertificateChainErrors then
                    let flags =
                        if isNull chain then
                            []
                        else
                            chain.ChainStatus
                            |> Seq.map _.Status
                            |> Seq.filter (fun s -> s <> X509ChainStatusFlags.NoError)
                            |> List.ofSeq

                    refuse (Untrusted(flags, presented))
                elif errors.HasFlag SslPolicyErrors.RemoteCertificateNameMismatch then
                    refuse (WrongName(host, presented))
                else
                    refuse NoCertificate

/// One TLS connection carrying chat/1 lines. Reads belong to one thread; sends may come from several
/// (the input loop and the Ctrl-C handler), so they are serialised.
type TlsConnection private (tcp: TcpClient, ssl: SslStream) =
    static let utf8 = UTF8Encoding(false)
    let reader = new StreamReader(ssl, utf8, false, 4096, true)

    let writer =
        new StreamWriter(ssl, utf8, 4096, true, NewLine = "\n", AutoFlush = true)

    let sendLock = obj ()

    static let timeout = TimeSpan.FromSeconds 10.0

    /// Why an exception happened, for one line: the innermost message is the specific one.
    static let rec reason (e: exn) =
        match e with
        | :? AggregateException as a when a.InnerExceptions.Count = 1 -> reason a.InnerException
        | :? OperationCanceledException -> $"no answer within {int timeout.TotalSeconds} s"
        | e when not (isNull e.InnerException) -> reason e.InnerException
        | e -> e.Message

    /// Reads every certificate of a PEM file, so that a bundle of CAs works as well as a single certificate.
    static member LoadCa(path: string) : Result<X509Certificate2Collection, ConnectError> =
        try
            let certs = X509Certificate2Collection()
            certs.ImportFromPemFile path

            if certs.Count = 0 then
                Result.Error(BadCaFile(path, "no PEM certificate in it"))
            else
                Result.Ok certs
        with
        | :? IOException
        | :? UnauthorizedAccessException
        | :? CryptographicException as e -> Result.Error(BadCaFile(path, e.Message))

    static member Connect
        (host: string, port: int, trust: Trust, cas: X509Certificate2Collection)
        : Result<TlsConnection, ConnectError> =
        let tcp = new TcpClient()

        let connected =
            try
                use cts = new CancellationTokenSource(timeout)
                tcp.ConnectAsync(host, port, cts.Token).AsTask().GetAwaiter().GetResult()
                Result.Ok()
            with
            | :? SocketException
            | :? OperationCanceledException as e -> Result.Error(CannotConnect(host, port, reason e))

        match connected with
        | Result.Error e ->
            tcp.Dispose()
            Result.Error e
        | Result.Ok() ->
            let verifier = Verifier(host, trust)
            let ssl = new SslStream(tcp.GetStream(), false)

            let options =
                SslClientAuthenticationOptions(
                    TargetHost = host,
                    EnabledSslProtocols = (SslProtocols.Tls12 ||| SslProtocols.Tls13),
                    RemoteCertificateValidationCallback =
                        RemoteCertificateValidationCallback(fun _ c ch e -> verifier.Check c ch e)
                )

            match trust with
            | CaFile _ ->
                // The handshake builds the chain with this policy, so the callback sees its verdict, and the
                // host name check still runs as usual.
                let policy =
                    X509ChainPolicy(
                        TrustMode = X509ChainTrustMode.CustomRootTrust,
                        RevocationMode = X509RevocationMode.NoCheck,
                        DisableCertificateDownloads = true
                    )

                policy.CustomTrustStore.AddRange cas
                options.CertificateChainPolicy <- policy
            | SystemStore
            | Pinned _ -> ()

            try
                use cts = new CancellationTokenSource(timeout)
                ssl.AuthenticateAsClientAsync(options, cts.Token).GetAwaiter().GetResult()
                Result.Ok(new TlsConnection(tcp, ssl))
            with
            | :? AuthenticationException
            | :? IOException
            | :? OperationCanceledException as e ->
                ssl.Dispose()
                tcp.Dispose()

                match verifier.Rejection with
                | Some why -> Result.Error why
                | None -> Result.Error(HandshakeFailed(host, port, reason e))

    /// "TLS 1.3", for the connection note.
    member _.Protocol =
        match ssl.SslProtocol with
        | SslProtocols.Tls13 -> "TLS 1.3"
        | SslProtocols.Tls12 -> "TLS 1.2"
        | p -> string p

    /// The next server line without its terminator, or None at the end of the stream.
    member _.ReadLine() : string option = reader.ReadLine() |> Option.ofObj

    /// Throws IOException or ObjectDisposedException once the connection is gone.
    member _.Send(line: string) =
        lock sendLock (fun () -> writer.WriteLine line)

    interface IDisposable with
        member _.Dispose() =
            ssl.Dispose()
            tcp.Dispose()
