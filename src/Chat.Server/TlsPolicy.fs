/// AEAD-only TLS in the handshake itself, through OpenSSL's process-wide defaults: .NET keeps one
/// cached OpenSSL context for every connection. A `CipherSuitesPolicy` would do the same job but
/// turns that cache off (.NET then builds a context per connection: ~11.6 KiB more per idle
/// connection and about a third more CPU per handshake, docs/DESIGN.md section 6).
module Chat.Server.TlsPolicy

open System
open System.IO
open System.Net
open System.Net.Security
open System.Net.Sockets
open System.Runtime.InteropServices
open System.Security.Authentication
open System.Threading.Tasks

/// Shipped next to the server's assembly (openssl-aead.cnf, copied to the output directory).
let configFile = Path.Combine(AppContext.BaseDirectory, "openssl-aead.cnf")

[<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
type private SetEnv = delegate of name: string * value: string * overwrite: int -> int

/// libc's own environment: Environment.SetEnvironmentVariable changes .NET's copy only, which
/// OpenSSL never reads. "libc.so.6" first: a runtime image has no "libc.so" (a linker script of
/// the -dev package).
let private setenv (name: string) (value: string) =
    let libc =
        [ "libc.so.6"; "libc" ]
        |> List.tryPick (fun n ->
            match NativeLibrary.TryLoad n with
            | true, h -> Some h
            | _ -> None)

    match libc with
    | Some h ->
        match NativeLibrary.TryGetExport(h, "setenv") with
        | true, f -> Marshal.GetDelegateForFunctionPointer<SetEnv>(f).Invoke(name, value, 1) = 0
        | _ -> false
    | None -> false

/// Where OpenSSL's configuration comes from, as `install` found or made it.
type Source =
    /// OPENSSL_CONF was set before the server started (by the Dockerfile, or an operator): kept.
    | Given of path: string
    /// OPENSSL_CONF now points at `configFile`.
    | Shipped of path: string
    /// Neither: OpenSSL reads its system configuration (the check will tell).
    | Unset of reason: string

/// Points OpenSSL at `configFile` unless OPENSSL_CONF is set already. OpenSSL reads OPENSSL_CONF
/// once, when .NET first initialises it (any certificate, key or TLS call; too late afterwards),
/// so this must be the first thing `main` does.
let install () : Source =
    match Environment.GetEnvironmentVariable "OPENSSL_CONF" with
    | null
    | "" ->
        if not (OperatingSystem.IsLinux()) then
            Unset "not Linux: .NET does not use OpenSSL here"
        elif not (File.Exists configFile) then
            Unset $"{configFile} is missing"
        elif setenv "OPENSSL_CONF" configFile then
            Shipped configFile
        else
            Unset "libc setenv failed"
    | path -> Given path

/// What the startup check saw.
type Verdict =
    /// AEAD suites get in, the weak ones are refused in the handshake.
    | Restricted
    /// A TLS 1.2 client offering only forward-secret AEAD suites could not connect.
    | AeadRefused of reason: string
    /// A TLS 1.2 client offering only weak suites completed the handshake with this one.
    | WeakAccepted of TlsCipherSuite

/// TLS 1.2 suites a client of this server may use, for an ECDSA or an RSA certificate.
let aeadSuites = [
    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
    TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
]

/// TLS 1.2 suites the handshake must refuse: CBC (with or without ECDHE), and static RSA (no
/// forward secrecy, even with GCM).
let weakSuites = [
    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
    TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
    TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
    TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
    TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256
    TlsCipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384
    TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256
    TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA
]

/// One loopback handshake against the server's own options: the suite it agreed on, or why not.
let private handshake (server: SslServerAuthenticationOptions) (suites: TlsCipherSuite list) =
    use listener =
        new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)

    listener.Bind(IPEndPoint(IPAddress.Loopback, 0))
    listener.Listen 1
    use c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
    c.Connect listener.LocalEndPoint
    use s = listener.Accept()
    use serverTls = new SslStream(new NetworkStream(s, true), false)
    use clientTls = new SslStream(new NetworkStream(c, true), false)

    let client =
        SslClientAuthenticationOptions(
            TargetHost = "127.0.0.1", // an address: no client-side session to resume
            EnabledSslProtocols = SslProtocols.Tls12,
            // The client's own context, once at startup: the server's options stay policy-free.
            CipherSuitesPolicy = CipherSuitesPolicy suites,
            RemoteCertificateValidationCallback = (fun _ _ _ _ -> true)
        )

    let st = serverTls.AuthenticateAsServerAsync server
    let ct = clientTls.AuthenticateAsClientAsync client

    try
        if Task.WaitAll([| st; ct |], TimeSpan.FromSeconds 10.0) then
            Ok serverTls.NegotiatedCipherSuite
        else
            Error "no handshake within 10 s"
    with :? AggregateException as e ->
        Error e.InnerException.Message

/// Two loopback handshakes against the server's own options (so with its certificate and the
/// context every connection then shares): a TLS 1.2 client offering only AEAD suites must get in,
/// one offering only weak suites must be refused.
let check (server: SslServerAuthenticationOptions) : Verdict =
    match handshake server aeadSuites with
    | Error reason -> AeadRefused reason
    | Ok _ ->
        match handshake server weakSuites with
        | Ok suite -> WeakAccepted suite
        | Error _ -> Restricted

/// The handshake would accept weak suites, or the check could not run: the server must not start.
exception NotRestricted of string

/// Where OpenSSL's configuration came from, for the log.
let describe (source: Source) =
    match source with
    | Given path -> path + " (OPENSSL_CONF given)"
    | Shipped path -> path
    | Unset reason -> "system default (" + reason + ")"

/// The one stderr line for a server that must not start unrestricted.
let problem (source: Source) (verdict: Verdict) =
    let where =
        match source with
        | Given path -> $"OPENSSL_CONF={path} (set before start)"
        | Shipped path -> $"OPENSSL_CONF={path}"
        | Unset reason -> $"OPENSSL_CONF not set ({reason})"

    let fix =
        $"point OPENSSL_CONF at the shipped {configFile} (or unset it) and make sure that file is readable"

    match verdict with
    | Restricted -> None
    | WeakAccepted suite ->
        Some
            $"TLS is not restricted to AEAD suites: a TLS 1.2 handshake with {suite} succeeded; OpenSSL did not apply {where}. Fix: {fix}"
    | AeadRefused reason ->
        Some
            $"TLS self-check failed: a TLS 1.2 client offering only ECDHE AES-GCM/ChaCha20 suites was refused ({reason}) with {where}. Fix: {fix}"
