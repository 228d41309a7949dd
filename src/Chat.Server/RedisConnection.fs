namespace Chat.Server

open System
open System.Diagnostics
open System.Net
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

module internal RedisCalls =
    let key (s: string) : RedisKey = RedisKey.op_Implicit s
    let value (s: string) : RedisValue = RedisValue.op_Implicit s
    let strings (r: RedisResult) : string[] = RedisResult.op_Explicit r
    let results (r: RedisResult) : RedisResult[] = RedisResult.op_Explicit r

    /// Errors that mean "Redis is not there right now" (retry later), as opposed to bugs.
    let (|Transient|_|) (e: exn) =
        match e with
        | :? RedisConnectionException
        | :? RedisTimeoutException -> Some e.Message
        | :? RedisServerException as e when
            [ "LOADING"; "BUSY"; "MASTERDOWN"; "READONLY"; "TRYAGAIN"; "CLUSTERDOWN" ]
            |> List.exists (fun p -> e.Message.StartsWith(p, StringComparison.Ordinal))
            ->
            Some e.Message
        | _ -> None

    /// One entry of a room's history stream (`from`, `ms`, `text`; the entry id is the MsgId), validated.
    let historyEntry (entry: StreamEntry) =
        let ms =
            match Int64.TryParse(string entry["ms"]) with
            | true, n -> Some n
            | _ -> None

        let text = entry["text"]

        match MsgId.tryCreate (string entry.Id), Username.tryCreate (string entry["from"]), ms with
        | Some id, Some from, Some ms when not text.IsNull ->
            Some {
                Id = id
                From = from
                UnixMs = ms
                Text = string text
            }
        | _ -> None

    let bus = RedisChannel(RedisKeys.bus, RedisChannel.PatternMode.Literal)

    /// Every port call: fail fast when disconnected rather than wait for a timeout.
    let guarded (muxer: ConnectionMultiplexer) (f: unit -> 'a) : 'a =
        if not muxer.IsConnected then
            raise (BackendUnavailable "Redis is not connected")

        try
            f ()
        with Transient reason ->
            raise (BackendUnavailable reason)

    let eval (muxer: ConnectionMultiplexer) script (keys: string list) (args: string list) =
        guarded muxer (fun () ->
            muxer
                .GetDatabase()
                .ScriptEvaluate(
                    (script: string),
                    keys |> List.map key |> Array.ofList,
                    args |> List.map value |> Array.ofList,
                    CommandFlags.None
                ))

    /// Issues an asynchronous call; one that throws instead of returning a task gives a failed task,
    /// so callers have one place to look for errors.
    let issue (call: unit -> Task<'a>) : Task<'a> =
        try
            call ()
        with e ->
            Task.FromException<'a> e

    let evalAsync (muxer: ConnectionMultiplexer) script (args: string list) =
        issue (fun () ->
            muxer
                .GetDatabase()
                .ScriptEvaluateAsync((script: string), [||], args |> List.map value |> Array.ofList, CommandFlags.None))

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
    /// - Protocol RESP2 unless the configuration names one: the library would negotiate RESP3 with
    ///   Redis 6+, which cost the instance that sends about 15 % more CPU a room message here, with
    ///   no gain. Subscriptions keep their own connection, so ConnectionFailed/ConnectionRestored
    ///   come for the Interactive and the Subscription connection apart. A subscription is
    ///   restored by the library itself after a reconnect: nothing here subscribes again.
    /// - RetryPolicy and CircuitBreaker apply only to databases wrapped with `WithRetry` and to
    ///   configured breakers: neither is used; a failed call is the command's ERR UNAVAILABLE.
    let connect (configuration: string) (timeout: TimeSpan) : ConnectionMultiplexer =
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

        if not (given "protocol") then
            options.Protocol <- RedisProtocol.Resp2

        let endpoints = options.EndPoints |> Seq.map endpointText |> String.concat ","
        let clock = Stopwatch.StartNew()
        let muxer = ConnectionMultiplexer.Connect options

        let rec waitFor (delay: int) =
            if muxer.IsConnected then
                true
            elif clock.Elapsed >= timeout then
                false
            else
                let left = timeout - clock.Elapsed
                Thread.Sleep(min delay (max 1 (int left.TotalMilliseconds)))
                waitFor (min (delay * 2) 1000)

        if waitFor 50 then
            muxer
        else
            muxer.Dispose()
            raise (RedisUnreachable(endpoints, timeout))
