namespace Chat.Server

open System
open System.Diagnostics
open System.Net
open System.Threading
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

    /// Fields of one stream entry [id, [field, value, ...]], validated.
    let historyEntry (entry: RedisResult) =
        match results entry with
        | [| id; fields |] ->
            let f =
                strings fields
                |> Array.chunkBySize 2
                |> Array.choose (function
                    | [| k; v |] -> Some(k, v)
                    | _ -> None)
                |> Map.ofArray

            match
                MsgId.tryCreate (string id),
                Map.tryFind "from" f |> Option.bind Username.tryCreate,
                Map.tryFind "ms" f
                |> Option.bind (fun s ->
                    match Int64.TryParse s with
                    | true, n -> Some n
                    | _ -> None),
                Map.tryFind "text" f
            with
            | Some id, Some from, Some ms, Some text ->
                Some {
                    Id = id
                    From = from
                    UnixMs = ms
                    Text = text
                }
            | _ -> None
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

    let evalAsync (muxer: ConnectionMultiplexer) script (args: string list) =
        muxer
            .GetDatabase()
            .ScriptEvaluateAsync((script: string), [||], args |> List.map value |> Array.ofList, CommandFlags.None)

    let endpointText (e: EndPoint) =
        match e with
        | :? DnsEndPoint as d -> sprintf "%s:%d" d.Host d.Port
        | e -> string e

open RedisCalls

module RedisConnection =
    /// Connects, waiting up to `timeout` for Redis (polling, with backoff) on the calling thread.
    /// Raises RedisUnreachable when it is still not there.
    let connect (configuration: string) (timeout: TimeSpan) : ConnectionMultiplexer =
        let options = ConfigurationOptions.Parse configuration

        let given (name: string) =
            configuration.Contains(name + "=", StringComparison.OrdinalIgnoreCase)
        // Keep running (and reconnecting) while Redis is away instead of failing for good.
        options.AbortOnConnectFail <- false
        // Short, so a command against a vanished Redis fails (UNAVAILABLE) in seconds, not minutes.
        let short = int (min 2000.0 (max 100.0 timeout.TotalMilliseconds))

        if not (given "connectTimeout") then
            options.ConnectTimeout <- short

        if not (given "syncTimeout") then
            options.SyncTimeout <- 2000

        let endpoints = options.EndPoints |> Seq.map endpointText |> String.concat ","
        let clock = Stopwatch.StartNew()
        // Fail at once while Redis is away (ERR UNAVAILABLE within the second), instead of
        // queueing commands in the backlog until the sync timeout.
        options.BacklogPolicy <- BacklogPolicy.FailFast
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
