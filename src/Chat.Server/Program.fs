module Chat.Server.Program

open System
open System.Diagnostics
open System.Net.Security
open System.Runtime.InteropServices
open System.Security.Authentication
open System.Threading
open Chat.Domain

/// `--metrics`' address cannot be listened on.
exception MetricsUnavailable of Net.IPEndPoint * reason: string

let private demoUsers = [ "alice", "password123"; "bob", "secret456"; "charlie", "hello789" ]

let private createDemoUsers (backend: IChatBackend) (passwords: Passwords) (log: Log) =
    for name, password in demoUsers do
        match Username.tryCreate name, Password.tryCreate password with
        | Some user, Result.Ok pw when not (backend.UserExists user) ->
            if backend.CreateAccount(user, passwords.Hash pw) then
                log.Info("demo user created", [ "user", box name ])
        | _ -> ()

/// The backend, and why its shared state is unreachable right now (None: it is reachable).
let private openBackend
    (config: Args.Config)
    (router: LocalRouter)
    (log: Log)
    (metrics: ServerMetrics)
    : IChatBackend * (unit -> string option) =
    match config.Redis with
    | None ->
        let clock () =
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()

        new MemoryBackend(config.History, clock), (fun () -> None)
    | Some configuration ->
        // Never the password: not in these lines, nor in what the Redis client reports later.
        let shown = Redaction.configuration configuration
        let redact = Redaction.text (Redaction.secrets configuration)
        log.Info("connecting to redis", [ "redis", box shown ])

        let muxer =
            RedisBackend.connectTrusting config.RedisCa configuration (TimeSpan.FromSeconds 30.0)

        log.Info("connected to redis", [ "redis", box shown ])

        let backend =
            new RedisBackend(
                muxer,
                config.ServerId,
                config.History,
                router.Sessions,
                (fun m -> log.Warn(redact m)),
                metrics
            )

        // The test commands make before they go to Redis (RedisBackend's fail-fast).
        let reachable () =
            if muxer.IsConnected then
                None
            else
                Some "redis unreachable: logins and commands answer ERR UNAVAILABLE"

        backend, reachable

/// The operator's endpoint, when `--metrics` asks for one.
let private startEndpoint (config: Args.Config) metrics health (log: Log) : IDisposable =
    match config.Metrics with
    | None -> {
        new IDisposable with
            member _.Dispose() = ()
      }
    | Some at ->
        let endpoint = new OperatorEndpoint(at, metrics, health, log)

        try
            endpoint.Start()
        with :? Net.HttpListenerException as e ->
            (endpoint :> IDisposable).Dispose()
            raise (MetricsUnavailable(at, e.Message))

        log.Info($"metrics on {endpoint.Prefix}metrics, health on {endpoint.Prefix}healthz")
        endpoint

let private run (tlsSource: TlsPolicy.Source) (config: Args.Config) =
    // StackExchange.Redis reads its sockets on the pool; a burst of work must not wait for it to grow.
    let workers, ports = ThreadPool.GetMinThreads()
    ThreadPool.SetMinThreads(max workers 64, max ports 64) |> ignore

    let log = Log(config.LogLevel, config.LogFormat)
    let metrics = ServerMetrics()

    let certificate, created =
        match config.CertFiles with
        | Some(crt, key) -> Certificates.load crt key, false
        | None -> Certificates.loadOrCreate config.CertDir

    let where =
        match config.CertFiles with
        | Some(crt, _) -> crt
        | None -> IO.Path.Combine(config.CertDir, "server.crt")

    log.Info(
        (if created then
             "certificate generated"
         else
             "certificate loaded"),
        [ "file", box where; "sha256", box (Certificates.fingerprint certificate) ]
    )

    let tls =
        SslServerAuthenticationOptions(
            ServerCertificateContext = SslStreamCertificateContext.Create(certificate, null),
            EnabledSslProtocols = (SslProtocols.Tls12 ||| SslProtocols.Tls13),
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck
            // No CipherSuitesPolicy: with one, SslStream builds an OpenSSL context per connection
            // (~11.6 KiB more per idle connection, slower handshakes). The suites are restricted
            // by OpenSSL's configuration instead (TlsPolicy), in the handshake; checked here.
        )

    match TlsPolicy.problem tlsSource (TlsPolicy.check tls) with
    | Some message -> raise (TlsPolicy.NotRestricted message)
    | None -> log.Info("TLS restricted to AEAD suites", [ "openssl_conf", box (TlsPolicy.describe tlsSource) ])

    if not TlsBuffers.available then
        log.Warn
            "this runtime's SslStream has an unknown shape, or OpenSSL 3 is not the one in use: OpenSSL keeps each connection's record buffers while idle"

    let clock () =
        DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()

    let router = LocalRouter(log, metrics)
    let backend, unreachable = openBackend config router log metrics
    use backend = backend
    backend.Listen router.Dispatch
    let passwords = Passwords config.BcryptCost

    if config.DemoUsers then
        createDemoUsers backend passwords log

    let settings = {
        Tls = tls
        ServerId = config.ServerId
        HandshakeTimeout = config.HandshakeTimeout
        LoginTimeout = config.LoginTimeout
        MaxLine = config.MaxLine
        SendQueue = config.SendQueue
        Session = {
            Backend = backend
            Router = router
            Passwords = passwords
            Policy = config.DuplicateLogin
            LoginFailures = config.LoginFailures
            RegisterRate = config.RegisterRate
            TokenTtl = config.TokenTtl
            Limits = {
                MinPassword = config.MinPassword
                MsgRate = config.MsgRate
            }
            Log = log
            Metrics = metrics
            Retries = Retries log
            Now = clock
        }
    }

    // Before `listening on`: a tool may stop the server as soon as it reads that line.
    use stop = new ManualResetEventSlim(false)

    let onSignal (ctx: PosixSignalContext) =
        ctx.Cancel <- true
        stop.Set()

    use _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, onSignal)
    use _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, onSignal)

    let listener =
        Listener(config.Bind, config.Port, config.MaxConns, config.MaxConnsPerAddress, settings)

    let health = Health unreachable

    metrics.OnScrape(
        (fun () -> listener.Connections),
        (fun () -> router.Count),
        listener.OutboxDepths,
        (fun () -> (unreachable ()).IsNone)
    )

    // Up before `listening on`, so that whoever reads that line can scrape at once.
    use _endpoint = startEndpoint config metrics health log

    listener.Start()
    health.Listening()
    log.Info($"listening on {listener.EndPoint.Address}:{listener.EndPoint.Port}", [ "server", box config.ServerId ])

    stop.Wait()

    health.ShuttingDown()
    log.Info("shutting down", [ "connections", box listener.Connections ])

    if not (listener.Stop("server shutting down", TimeSpan.FromSeconds 10.0)) then
        log.Warn("some sessions did not end in time", [ "connections", box listener.Connections ])

    log.Info "stopped"

[<EntryPoint>]
let main argv =
    // First, before any certificate, key or TLS call: OpenSSL reads OPENSSL_CONF only once.
    let tlsSource = TlsPolicy.install ()

    match Args.parse argv (Argu.EnvironmentVariableConfigurationReader()) with
    | Args.ShowUsage usage ->
        printfn "%s" usage
        0
    | Args.Invalid message ->
        eprintfn "Chat.Server: %s" message
        2
    | Args.Run config ->
        try
            run tlsSource config
            0
        with
        | Certificates.CertificateProblem message
        | TlsPolicy.NotRestricted message ->
            eprintfn "Chat.Server: %s" message
            2
        | RedisUnreachable _
        | RedisRefused _ as e ->
            eprintfn "Chat.Server: %s" e.Message
            2
        | MetricsUnavailable(at, reason) ->
            eprintfn "Chat.Server: cannot serve metrics on %O (--metrics): %s" at reason
            2
        | :? Net.Sockets.SocketException as e when e.SocketErrorCode = Net.Sockets.SocketError.AddressAlreadyInUse ->
            eprintfn
                "Chat.Server: cannot listen on %O:%d: the port is in use; stop the other process or pick another --port"
                config.Bind
                config.Port

            2
