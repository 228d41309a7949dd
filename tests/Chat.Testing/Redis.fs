namespace Chat.Testing

open System
open System.IO
open System.Net
open System.Net.Security
open System.Net.Sockets
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates
open System.Text
open System.Threading.Tasks

/// How the harness itself reaches a redis-server: the credentials it sends `AUTH` with first (an
/// ACL user, or none for `requirepass`'s default user), and whether it speaks TLS. The harness
/// trusts any certificate the server shows: it is the administrator; whether the chat server
/// trusts it is what the tests check.
type RespAccess = {
    Auth: (string option * string) option
    Tls: bool
} with

    /// Plain TCP, no AUTH: a redis-server as the harness started it before issue 13.
    static member Open = { Auth = None; Tls = false }

/// Just enough RESP to drive a redis-server without a client library (one connection per command).
module Resp =
    let private readLine (s: Stream) =
        let buffer = ResizeArray<byte>()

        let rec go () =
            match s.ReadByte() with
            | -1 -> raise (EndOfStreamException "redis closed the connection")
            | 13 -> s.ReadByte() |> ignore
            | b ->
                buffer.Add(byte b)
                go ()

        go ()
        Encoding.UTF8.GetString(buffer.ToArray())

    /// Scalars as text, nil as null, arrays as their elements joined by '\n'.
    let rec private read (s: Stream) : string =
        let line = readLine s

        match line[0], line.Substring 1 with
        | '+', rest
        | ':', rest -> rest
        | '-', rest -> failwithf "redis error: %s" rest
        | '$', "-1"
        | '*', "-1" -> null
        | '$', n ->
            let data = Array.zeroCreate<byte>(int n + 2)
            let mutable got = 0

            while got < data.Length do
                let k = s.Read(data, got, data.Length - got)

                if k = 0 then
                    raise (EndOfStreamException "redis closed the connection")

                got <- got + k

            Encoding.UTF8.GetString(data, 0, int n)
        | '*', n -> List.init (int n) (fun _ -> read s) |> String.concat "\n"
        | _ -> failwithf "unexpected RESP line %s" line

    let private send (stream: Stream) (args: string list) =
        let request = StringBuilder().Append('*').Append(args.Length).Append("\r\n")

        for a in args do
            request.Append('$').Append(Encoding.UTF8.GetByteCount a).Append("\r\n").Append(a).Append("\r\n")
            |> ignore

        let bytes = Encoding.UTF8.GetBytes(request.ToString())
        stream.Write(bytes, 0, bytes.Length)
        read stream

    /// Runs one command on 127.0.0.1:`port` reached as `access` says (TLS, then AUTH): scalars as
    /// text, nil as null, arrays as their elements joined by '\n'; a Redis error raises.
    let commandAs (access: RespAccess) (port: int) (args: string list) =
        use client = new TcpClient()
        client.Connect(IPAddress.Loopback, port)
        client.ReceiveTimeout <- 5000
        use tcp = client.GetStream()

        use stream =
            if access.Tls then
                let tls = new SslStream(tcp, false, (fun _ _ _ _ -> true))
                tls.AuthenticateAsClient "localhost"
                tls :> Stream
            else
                tcp :> Stream

        match access.Auth with
        | Some(Some user, password) -> send stream [ "AUTH"; user; password ] |> ignore
        | Some(None, password) -> send stream [ "AUTH"; password ] |> ignore
        | None -> ()

        send stream args

    /// Runs one command on 127.0.0.1:`port` over plain TCP without AUTH.
    let command (port: int) (args: string list) = commandAs RespAccess.Open port args

/// Certificates for a TLS redis-server: a CA and a server certificate it signs, for 127.0.0.1
/// and localhost, written as PEM files (what redis-server and `--redis-ca` read).
module TestCertificates =
    let private validity () =
        DateTimeOffset.UtcNow.AddMinutes -5.0, DateTimeOffset.UtcNow.AddDays 2.0

    /// A self-signed CA certificate named `name`, with its private key.
    let ca (name: string) : X509Certificate2 =
        use key = ECDsa.Create(ECCurve.NamedCurves.nistP256)
        let request = CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256)
        request.CertificateExtensions.Add(X509BasicConstraintsExtension(true, false, 0, true))

        request.CertificateExtensions.Add(
            X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign ||| X509KeyUsageFlags.CrlSign, true)
        )

        request.CertificateExtensions.Add(X509SubjectKeyIdentifierExtension(request.PublicKey, false))
        let notBefore, notAfter = validity ()
        request.CreateSelfSigned(notBefore, notAfter)

    /// A server certificate for 127.0.0.1 and localhost, signed by `ca`, with its private key.
    let server (ca: X509Certificate2) : X509Certificate2 =
        let key = ECDsa.Create(ECCurve.NamedCurves.nistP256)
        let request = CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256)
        let names = SubjectAlternativeNameBuilder()
        names.AddIpAddress IPAddress.Loopback
        names.AddDnsName "localhost"
        request.CertificateExtensions.Add(names.Build())
        request.CertificateExtensions.Add(X509BasicConstraintsExtension(false, false, 0, true))
        request.CertificateExtensions.Add(X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true))

        let serverAuth = OidCollection()
        serverAuth.Add(Oid "1.3.6.1.5.5.7.3.1") |> ignore
        request.CertificateExtensions.Add(X509EnhancedKeyUsageExtension(serverAuth, false))

        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false))
        let notBefore, notAfter = validity ()
        let serial = RandomNumberGenerator.GetBytes 16
        serial[0] <- serial[0] &&& 0x7Fuy
        use signed = request.Create(ca, notBefore, notAfter, serial)
        signed.CopyWithPrivateKey key

    /// Writes the certificate (no key) to `path` as PEM; returns `path`.
    let writeCertificate (path: string) (certificate: X509Certificate2) =
        File.WriteAllText(path, certificate.ExportCertificatePem())
        path

    /// Writes the certificate's private key to `path` as PKCS#8 PEM; returns `path`.
    let writeKey (path: string) (certificate: X509Certificate2) =
        use key = certificate.GetECDsaPrivateKey()
        File.WriteAllText(path, key.ExportPkcs8PrivateKeyPem())
        path

/// Free TCP ports on loopback.
module Ports =
    /// A port nothing listens on right now (the OS's pick for port 0).
    let free () =
        let l = new TcpListener(IPAddress.Loopback, 0)
        l.Start()
        let port = (l.LocalEndpoint :?> IPEndPoint).Port
        l.Stop()
        port

/// A real redis-server on a free 127.0.0.1 port, for as long as the object lives. Without
/// `aofDir` it keeps nothing on disk (`--save "" --appendonly no`), so a restart starts empty;
/// with it, it logs every write to an append-only file there, which a restart reads back.
/// DEBUG is allowed from loopback (for `DebugSleep`). `extraArgs` come last (e.g.
/// `--loglevel warning`). Its log is its stdout, kept in memory.
///
/// Access (all optional; without them it is open, as before): `password` is `requirepass` (the
/// `default` user's password); `users` are ACL users (name, password) allowed everything
/// (`on >password ~* &* +@all`), and without `password` the `default` user is turned off, so only
/// they get in; `tls` serves TLS only on the port (`--port 0 --tls-port`), with a server
/// certificate for 127.0.0.1/localhost signed by a CA made for it (`CaFile`); clients are not asked
/// for certificates. The harness itself connects with the password, else the first user.
type RedisServer
    (?aofDir: string, ?extraArgs: string list, ?password: string, ?users: (string * string) list, ?tls: bool) =
    let workDir = Directory.CreateTempSubdirectory("chat-redis-").FullName
    let port = Ports.free ()
    let mutable child: ChildProcess option = None
    let users = defaultArg users []
    let tls = defaultArg tls false

    let access = {
        Auth =
            match password, users with
            | Some p, _ -> Some(None, p)
            | None, (u, p) :: _ -> Some(Some u, p)
            | None, [] -> None
        Tls = tls
    }

    // The CA's certificate (to trust) and the server's certificate and key, in the work directory.
    let tlsFiles =
        if tls then
            use ca = TestCertificates.ca "chat test redis CA"
            use server = TestCertificates.server ca

            Some(
                TestCertificates.writeCertificate (Path.Combine(workDir, "ca.crt")) ca,
                TestCertificates.writeCertificate (Path.Combine(workDir, "redis.crt")) server,
                TestCertificates.writeKey (Path.Combine(workDir, "redis.key")) server
            )
        else
            None

    let args () = [
        match tlsFiles with
        | Some(ca, crt, key) ->
            yield! [ "--port"; "0"; "--tls-port"; string port ]
            yield! [ "--tls-cert-file"; crt; "--tls-key-file"; key; "--tls-ca-cert-file"; ca ]
            yield! [ "--tls-auth-clients"; "no" ]
        | None -> yield! [ "--port"; string port ]
        match password with
        | Some p -> yield! [ "--requirepass"; p ]
        | None when not users.IsEmpty -> yield! [ "--user"; "default"; "off" ]
        | None -> ()
        for name, p in users do
            yield! [ "--user"; name; "on"; ">" + p; "~*"; "&*"; "+@all" ]
        "--bind"
        "127.0.0.1"
        "--save"
        ""
        match aofDir with
        | Some dir -> yield! [ "--appendonly"; "yes"; "--appendfsync"; "always"; "--dir"; dir ]
        | None -> yield! [ "--appendonly"; "no"; "--dir"; workDir ]
        // DEBUG from loopback only, for the tests that stall Redis (`DEBUG SLEEP`).
        "--daemonize"
        "no"
        "--enable-debug-command"
        "local"
        yield! defaultArg extraArgs []
    ]

    let waitForExit () =
        match child with
        | Some c ->
            if (c.WaitForExit(TimeSpan.FromSeconds 10.0)).IsNone then
                c.Kill()

            (c :> IDisposable).Dispose()
            child <- None
        | None -> ()

    let start () =
        let c = ChildProcess.Start("redis-server", args (), name = $"redis-server:{port}")
        child <- Some c

        try
            Poll.until (TimeSpan.FromSeconds 15.0) (sprintf "redis-server on port %d to answer PING" port) (fun () ->
                if c.HasExited then
                    c.WaitForExit(TimeSpan.FromSeconds 5.0) |> ignore
                    failwithf "redis-server exited:\n%s" (c.OutputText 10)

                try
                    Resp.commandAs access port [ "PING" ] = "PONG"
                with _ ->
                    false)
        with _ ->
            (c :> IDisposable).Dispose()
            child <- None
            reraise ()

    do start ()

    member _.Port = port

    /// `127.0.0.1:<port>`, then the harness's credentials (`,user=...,password=...`) and
    /// `,ssl=true` when it has them: for StackExchange.Redis and for the server's `--redis` (with
    /// TLS, the server needs `--redis-ca CaFile` too).
    member _.Configuration =
        sprintf "127.0.0.1:%d" port
        + (match access.Auth with
           | Some(Some user, p) -> $",user={user},password={p}"
           | Some(None, p) -> $",password={p}"
           | None -> "")
        + (if tls then ",ssl=true" else "")

    /// `127.0.0.1:<port>` alone, to build a configuration string of one's own.
    member _.Address = sprintf "127.0.0.1:%d" port
    /// With `tls`: the PEM file of the CA that signed its certificate (for `--redis-ca`).
    member _.CaFile = tlsFiles |> Option.map (fun (ca, _, _) -> ca)
    member _.Endpoint = IPEndPoint(IPAddress.Loopback, port)
    member _.IsRunning = child |> Option.exists (fun c -> not c.HasExited)
    /// The pid of the running redis-server (0 when stopped).
    member _.Pid = child |> Option.map _.Pid |> Option.defaultValue 0

    /// The last lines of its log.
    member _.LogTail(?last: int) =
        child
        |> Option.map (fun c -> c.OutputText(defaultArg last 10))
        |> Option.defaultValue ""

    /// Runs one command (with the harness's access: AUTH, TLS): scalars as text, nil as null,
    /// arrays as their elements joined by '\n'.
    member _.Command(args: string list) = Resp.commandAs access port args

    member this.FlushAll() = this.Command [ "FLUSHALL" ] |> ignore

    /// Sends `DEBUG SLEEP <seconds>` and returns once it is written; the task ends with Redis' reply.
    /// (Plain TCP without AUTH: for an open redis-server.)
    member _.DebugSleep(seconds: int) : Task =
        let tcp = new TcpClient()
        tcp.Connect(IPAddress.Loopback, port)
        let stream = tcp.GetStream()
        let s = string seconds

        let bytes =
            Encoding.ASCII.GetBytes $"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n${s.Length}\r\n{s}\r\n"

        stream.Write(bytes, 0, bytes.Length)

        task {
            use _ = tcp
            let buffer = Array.zeroCreate<byte> 64
            let! _ = stream.ReadAsync(buffer, 0, buffer.Length)
            ()
        }

    /// A clean shutdown (the append-only file, if any, is complete).
    member this.Stop() =
        if this.IsRunning then
            try
                this.Command [ "SHUTDOWN" ] |> ignore
            with _ ->
                () // the reply to SHUTDOWN is the connection closing

        waitForExit ()

    /// A crash: SIGKILL, nothing flushed.
    member this.Kill() =
        if this.IsRunning then
            child |> Option.iter _.Kill()

        waitForExit ()

    /// SIGSTOP: it reads nothing, its peers' writes pile up in the kernel's buffers and then in
    /// theirs (a replica frozen so that its master holds the writes it has not sent).
    member _.Freeze() = child |> Option.iter _.Freeze()

    /// SIGCONT after `Freeze`.
    member _.Thaw() = child |> Option.iter _.Thaw()

    /// Stops it if it runs, then starts it again on the same port.
    member this.Restart() =
        this.Stop()
        start ()

    interface IDisposable with
        member this.Dispose() =
            this.Kill()

            try
                Directory.Delete(workDir, true)
            with _ ->
                ()
