namespace Chat.Server

open System
open System.Diagnostics
open System.Net
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates
open System.Threading
open System.Threading.Tasks
open StackExchange.Redis
open Chat.Domain

/// Redis did not answer within the startup deadline.
exception RedisUnreachable of endpoint: string * waited: TimeSpan with
    override this.Message =
        sprintf
            "Redis at %s is still unreachable after %.0f s: %s"
            this.endpoint
            this.waited.TotalSeconds
            "start it, or fix --redis / CHAT_REDIS (host:port[,option=value...])"

/// What stopped the connection to Redis for good: it answered, but refused this server.
[<RequireQualifiedAccess>]
type RedisRefusal =
    /// The Redis handshake refused the credentials (AUTH/HELLO: a wrong or missing `user=`/`password=`).
    | Credentials
    /// The TLS handshake failed: Redis' certificate is not trusted (or not for this host name).
    | Certificate of reason: string
    /// The CA file given with `--redis-ca` cannot be read as a certificate.
    | CaFile of file: string * reason: string

/// Redis answered but refused the connection; waiting would not help. The message never holds the
/// password (only the endpoints and what to check).
exception RedisRefused of endpoint: string * refusal: RedisRefusal with
    override this.Message =
        match this.refusal with
        | RedisRefusal.Credentials ->
            sprintf
                "authentication to Redis at %s failed: the server refused the credentials; check user= and password= in --redis / CHAT_REDIS"
                this.endpoint
        | RedisRefusal.Certificate reason ->
            sprintf
                "the TLS handshake with Redis at %s failed (%s): give the CA that signed Redis' certificate with --redis-ca / CHAT_REDIS_CA, and check sslHost= in --redis"
                this.endpoint
                reason
        | RedisRefusal.CaFile(file, reason) ->
            sprintf "cannot read --redis-ca / CHAT_REDIS_CA %s as a PEM or DER certificate: %s" file reason

module internal RedisCalls =
    let key (s: string) : RedisKey = RedisKey.op_Implicit s
    let value (s: string) : RedisValue = RedisValue.op_Implicit s
    let strings (r: RedisResult) : string[] = RedisResult.op_Explicit r

    /// A transient error after which the write may have been applied: the link broke, or the wait
    /// for the answer ran out, with the command sent or its status unknown. Only a command the
    /// library knows it never wrote (waiting to be sent, or in its backlog) was certainly not.
    let (|MaybeApplied|_|) (e: exn) =
        let unsent status =
            status = CommandStatus.WaitingToBeSent
            || status = CommandStatus.WaitingInBacklog

        match e with
        | :? RedisConnectionException as c when not (unsent c.CommandStatus) -> Some e.Message
        | :? RedisTimeoutException as t when not (unsent t.Commandstatus) -> Some e.Message
        | :? RedisTimeoutException -> None
        // The wait for a script's answer (RedisScripts.timeout): the library may still send it.
        | :? TimeoutException -> Some e.Message
        | _ -> None

    /// Errors that mean "Redis is not there right now" (retry later), as opposed to bugs.
    let (|Transient|_|) (e: exn) =
        match e with
        | :? RedisConnectionException
        | :? RedisTimeoutException
        | :? TimeoutException -> Some e.Message
        | :? RedisServerException as e when
            [ "LOADING"; "BUSY"; "MASTERDOWN"; "READONLY"; "TRYAGAIN"; "CLUSTERDOWN" ]
            |> List.exists (fun p -> e.Message.StartsWith(p, StringComparison.Ordinal))
            ->
            Some e.Message
        | _ -> None

    /// One message of a room's stream (entry `e` a said line, `ms`; the entry id is the MsgId),
    /// validated; None for presence entries and anything malformed.
    let historyEntry (entry: StreamEntry) =
        let ms =
            match Int64.TryParse(string entry["ms"]) with
            | true, n -> Some n
            | _ -> None

        match MsgId.tryCreate (string entry.Id), EventLine.decodeRoom (string entry["e"]), ms with
        | Some id, Some(EventLine.RoomEvent.Said(from, text)), Some ms ->
            Some {
                Id = id
                From = from
                UnixMs = ms
                Text = text
            }
        | _ -> None

    /// The library's report `reason` without the password (the multiplexer's configuration holds
    /// it): what a BackendUnavailable carries is logged.
    let redacted (muxer: ConnectionMultiplexer) (reason: string) =
        Redaction.text (Redaction.secrets muxer.Configuration) reason

    /// Every port call: fail fast when disconnected rather than wait for a timeout.
    let guarded (muxer: ConnectionMultiplexer) (f: unit -> 'a) : 'a =
        if not muxer.IsConnected then
            raise (BackendUnavailable "Redis is not connected")

        try
            f ()
        with Transient reason ->
            raise (BackendUnavailable(redacted muxer reason))

    /// Runs an event or timer handler of the library or the runtime: whatever it throws is logged
    /// (the library drops it silently, a timer would end the process) and goes no further.
    let logged (warn: string -> unit) (what: string) (handler: unit -> unit) =
        try
            handler ()
        with e ->
            warn (sprintf "%s failed: %O" what e)

    let endpointText (e: EndPoint) =
        match e with
        | :? DnsEndPoint as d -> sprintf "%s:%d" d.Host d.Port
        | e -> string e

open RedisCalls

module RedisConnection =
    /// Connects, waiting up to `timeout` for Redis (polling, with backoff) on the calling thread.
    /// Raises RedisUnreachable when it is still not there.
    ///
    /// The options, as StackExchange.Redis 3 reads them; what the configuration string gives wins
    /// where it may say so.
    /// - AbortOnConnectFail false: keep running, and reconnecting, while Redis is away.
    /// - BacklogPolicy FailFast: a command while the link is down fails at once (ERR UNAVAILABLE
    ///   within the second) instead of waiting in the backlog for the sync timeout, and commands
    ///   in flight when the link breaks fail with it. The library's default backlogs.
    /// - SyncTimeout 2 s, and AsyncTimeout (which follows it unless given): a command to a Redis
    ///   that holds the connection but does not answer (stalled, `DEBUG SLEEP`) fails after 2 s;
    ///   the default is 5 s. The heartbeat (1 s) checks them, so a timeout fires within 2-3 s.
    /// - ConnectTimeout at most 2 s, so one reconnect attempt never takes long.
    /// - ReconnectRetryPolicy: an attempt every 0.5 to 2 s; the default backs off to 10 s, which
    ///   after a long outage would leave service down for seconds after Redis is back.
    /// - Protocol: RESP3 is negotiated with Redis 6+ (RESP2 measured ~15 % less CPU per sent room
    ///   message; not taken yet: events lost around link cuts under the earlier single-channel design were
    ///   first seen with it, though RESP3 showed them too; not compared again since the streams); subscriptions keep their own connection, so
    ///   ConnectionFailed/ConnectionRestored come for the Interactive and the Subscription
    ///   connection apart. A subscription is restored by the library itself after a reconnect:
    ///   nothing here subscribes again.
    /// - RetryPolicy and CircuitBreaker apply only to databases wrapped with `WithRetry` and to
    ///   configured breakers: neither is used; a failed call is the command's ERR UNAVAILABLE.
    /// - Access (issue 13): `user=`/`password=` in the configuration string are the Redis ACL
    ///   user and password (or `requirepass`'s, without `user=`); `ssl=true` speaks TLS. `caFile`
    ///   (the server's `--redis-ca`) is a CA certificate to trust for Redis' certificate besides the
    ///   system's (the library's `TrustIssuer`: the chain must end at it and the name must match the
    ///   endpoint or `sslHost=`); it implies `ssl=true`. A refused AUTH or certificate is reported by
    ///   the library per connection attempt (`ConnectionAttemptCompleted`, subscribed before
    ///   connecting) and raises RedisRefused at once: retrying for `timeout` would not help.
    let connectTrusting (caFile: string option) (configuration: string) (timeout: TimeSpan) : ConnectionMultiplexer =
        let options = ConfigurationOptions.Parse configuration

        let given (name: string) =
            configuration.Contains(name + "=", StringComparison.OrdinalIgnoreCase)

        options.AbortOnConnectFail <- false
        options.BacklogPolicy <- BacklogPolicy.FailFast
        options.ReconnectRetryPolicy <- ExponentialRetry(500, 2000)
        let short = int (min 2000.0 (max 100.0 timeout.TotalMilliseconds))

        if not (given "connectTimeout") then
            options.ConnectTimeout <- short

        if not (given "syncTimeout") then
            options.SyncTimeout <- 2000

        let endpoints = options.EndPoints |> Seq.map endpointText |> String.concat ","

        match caFile with
        | Some file ->
            let ca =
                try
                    X509CertificateLoader.LoadCertificateFromFile file
                with
                | :? CryptographicException
                | :? IO.IOException
                | :? UnauthorizedAccessException as e ->
                    try
                        // A PEM file: the loader reads DER and PKCS#12 only.
                        X509Certificate2.CreateFromPem(IO.File.ReadAllText file)
                    with _ ->
                        raise (RedisRefused(endpoints, RedisRefusal.CaFile(file, e.Message)))

            options.Ssl <- true
            options.TrustIssuer ca
        | None -> ()

        // The latest refusal the library reported for a connection attempt, if any.
        let mutable refused: RedisRefusal option = None

        options.add_ConnectionAttemptCompleted (
            EventHandler<ConnectionAttemptCompletedEventArgs>(fun _ e ->
                if not e.IsSuccess && e.FailureType = ConnectionFailureType.AuthenticationFailure then
                    refused <-
                        Some(
                            if e.Stage = ConnectionAttemptStage.Tls then
                                RedisRefusal.Certificate(
                                    match e.Exception with
                                    | null -> "certificate refused"
                                    | x -> x.Message
                                )
                            else
                                RedisRefusal.Credentials
                        ))
        )

        let clock = Stopwatch.StartNew()
        let muxer = ConnectionMultiplexer.Connect options

        let rec waitFor (delay: int) =
            if muxer.IsConnected then
                Result.Ok()
            else
                match refused with
                | Some r -> Result.Error(RedisRefused(endpoints, r))
                | None when clock.Elapsed >= timeout -> Result.Error(RedisUnreachable(endpoints, timeout))
                | None ->
                    let left = timeout - clock.Elapsed
                    Thread.Sleep(min delay (max 1 (int left.TotalMilliseconds)))
                    waitFor (min (delay * 2) 250)

        match waitFor 50 with
        | Result.Ok() -> muxer
        | Result.Error e ->
            muxer.Dispose()
            raise e

    /// `connectTrusting` with the system's trust store only.
    let connect (configuration: string) (timeout: TimeSpan) : ConnectionMultiplexer =
        connectTrusting None configuration timeout
