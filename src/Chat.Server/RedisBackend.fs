namespace Chat.Server

// The state port on Redis (7+, one node), shared by any number of instances. The schema; also in
// docs/REDIS-SCHEMA.md, keep both in step. "script": one of RedisScripts, one atomic EVAL.
//
// key                      type    content; written by                                   expiry
// chat:user:NAME           hash    {hash}; CreateAccount, HSETNX (never overwrites)      none
// chat:session:USER        hash    {sid, server, room}; claim/release/move/restore/sweep none
// chat:online              set     users with a session; the same scripts                none
// chat:room:ROOM           set     the room's members; the same scripts                  none, gone when empty
// chat:rooms               set     names of non-empty rooms; the same scripts            none
// chat:server:ID:sessions  set     users whose session server ID holds; the same         none
// chat:servers             set     registered servers; heartbeat, forget, leave          none
// chat:server:ID:alive     string  "1"; heartbeat every 3 s (RedisLiveness)              10 s
// chat:follows:USER        set     whom USER follows; Subscribe/Unsubscribe (MULTI)      none
// chat:followers:USER      set     who follows USER; the same transaction                none
// chat:pubseq:USER         string  INCR counter: ids of USER's publications; publish     none
// chat:history:ROOM        stream  {from, ms, text}, entry id = MsgId; say script,       none, MAXLEN ~ limit
//                                  XADD MAXLEN ~ historyLimit
// chat:fail:u:USER         string  failed logins; RecordFailedLogin, INCR + EXPIRE 60    60 s from creation
// chat:fail:a:ADDRESS      string  failed logins from the address; the same              60 s from creation
// chat:bus                 channel "EPOCH SEQ line" (BusCodec); busPublish in scripts   (Pub/Sub)
// chat:bus:epoch           string  epoch of the numbering, new after data loss; busPublish none
// chat:bus:seq             string  last event number; busPublish (INCR)                  none
// chat:bus:log             stream  {e: line}, id SEQ-1; busPublish, XADD MAXLEN ~ 100000 none, capped
//
// One bus channel on one Redis: every instance sees one total order of events; gaps in the
// numbers are read back from chat:bus:log, 1,000 entries a read, up to its whole length (RedisBus).
// Reads use the client's commands (XRANGE, XREVRANGE, MGET); scripts are for atomic changes.
// Liveness (RedisLiveness): a server whose alive key lapsed is swept by the others every 5 s: its
// sessions are removed, their Exited announced, then it leaves chat:servers. After a reconnect,
// each instance re-writes its local sessions (Redis may have lost them).

open System
open System.Runtime.ExceptionServices
open System.Threading.Tasks
open StackExchange.Redis
open Chat.Domain
open RedisCalls

/// The state port on Redis. `localSessions` (this instance's sessions; thread-safe and quick) is
/// re-written after Redis lost them; `warn` logs what is dropped, or fails in the background.
/// Calls block their thread until Redis answers (at most the sync timeout): make them from the
/// server's own threads, never from pool threads, which also read Redis' sockets.
type RedisBackend
    (
        muxer: ConnectionMultiplexer,
        serverId: string,
        historyLimit: int,
        localSessions: unit -> (Username * SessionId * RoomName) list,
        warn: string -> unit
    ) =
    let db = muxer.GetDatabase()
    let sub = muxer.GetSubscriber()
    let liveness = new RedisLiveness(muxer, serverId, localSessions, warn)
    let mutable listener: BusEvent -> unit = ignore
    let mutable subscribed: ChannelMessageQueue = null
    let mutable receiver: RedisBus option = None
    let mutable disposed = false

    let guard f = guarded muxer f
    let limitArg = RedisValue.op_Implicit historyLimit

    /// What a room message's script call came to: its id, or why it was not sent.
    static let sayOutcome =
        Func<Task<RedisResult>, MsgId>(fun sent ->
            match sent.Exception with
            | null ->
                match MsgId.tryCreate (string sent.Result) with
                | Some id -> id
                | None -> failwithf "XADD returned a malformed id %O" sent.Result
            | e ->
                match e.InnerException with
                | Transient reason -> raise (BackendUnavailable reason)
                | inner ->
                    ExceptionDispatchInfo.Capture(inner).Throw()
                    Unchecked.defaultof<MsgId>)

    let eval script keys args = eval muxer script keys args

    let usersOf (values: RedisValue[]) =
        values
        |> Array.choose (string >> Username.tryCreate)
        |> Array.sortBy Username.value
        |> List.ofArray

    /// On the multiplexer's ordered message queue: one event at a time, in bus order.
    let deliver (line: string) =
        match BusCodec.decode line with
        | Some event ->
            try
                listener event
            with e ->
                warn (sprintf "bus listener failed on %A: %O" event e)
        | None -> warn (sprintf "dropped a malformed bus line: %s" (string line))

    // The library's own trouble (a reader or heartbeat that failed) is reported only here.
    let onInternalError =
        EventHandler<InternalErrorEventArgs>(fun _ e ->
            logged warn "redis internal error report" (fun () ->
                warn (sprintf "redis client internal error in %s: %O" e.Origin e.Exception)))

    do muxer.InternalError.AddHandler onInternalError

    /// The multiplexer to make a RedisBackend with: see RedisConnection.connect.
    static member connect (configuration: string) (timeout: TimeSpan) =
        RedisConnection.connect configuration timeout

    interface IChatBackend with
        member _.PasswordHash user =
            let v =
                guard (fun () -> db.HashGet(key (RedisKeys.user user), value "hash", CommandFlags.None))

            if v.IsNull then None else Some(string v)

        member _.CreateAccount(user, hash) =
            guard (fun () ->
                db.HashSet(key (RedisKeys.user user), value "hash", value hash, When.NotExists, CommandFlags.None))

        member _.UserExists user =
            guard (fun () -> db.KeyExists(key (RedisKeys.user user), CommandFlags.None))

        member _.FailedLogins(user, address) =
            let keys = [| key (RedisKeys.failedUser user); key (RedisKeys.failedAddress address) |]

            let counts =
                guard (fun () -> db.StringGet(keys, CommandFlags.None))
                |> Array.map (fun v ->
                    match Int32.TryParse(string v) with
                    | true, n -> n
                    | _ -> 0)

            counts[0], counts[1]

        member _.RecordFailedLogin(user, address) =
            eval RedisScripts.failed [ RedisKeys.failedUser user; RedisKeys.failedAddress address ] [ "60" ]
            |> ignore

        member _.Claim(user, sid, policy) =
            let policy =
                match policy with
                | Reject -> "reject"
                | ForceLogout -> "force-logout"

            match
                strings (eval RedisScripts.claim [] [ Username.value user; SessionId.value sid; serverId; policy ])
            with
            | [| "online" |] -> AlreadyOnline
            | [| "claimed"; ""; _ |] -> Claimed None
            | [| "claimed"; oldSid; oldRoom |] ->
                match SessionId.tryCreate oldSid, RoomName.tryCreate oldRoom with
                | Some s, Some r -> Claimed(Some(s, r))
                | _ ->
                    warn (sprintf "claim of %s replaced a malformed session %s/%s" (Username.value user) oldSid oldRoom)
                    Claimed None
            | other -> failwithf "unexpected reply from the claim script: %A" other

        member _.Release(user, sid) =
            let r = eval RedisScripts.release [] [ Username.value user; SessionId.value sid ]
            if r.IsNull then None else RoomName.tryCreate (string r)

        member _.Move(user, sid, _from, into) =
            // The room left is the one the session hash names, the shared truth.
            let r =
                eval RedisScripts.move [] [ Username.value user; SessionId.value sid; RoomName.value into ]

            (int64 (string r)) = 1L

        member _.Rooms() =
            strings (eval RedisScripts.rooms [] [])
            |> Array.chunkBySize 2
            |> Array.choose (function
                | [| r; n |] -> RoomName.tryCreate r |> Option.map (fun r -> r, int n)
                | _ -> None)
            |> Array.sortBy (fst >> RoomName.value)
            |> List.ofArray

        member _.Members room =
            guard (fun () -> db.SetMembers(key (RedisKeys.room room), CommandFlags.None))
            |> usersOf

        member _.Online() =
            guard (fun () -> db.SetMembers(key RedisKeys.online, CommandFlags.None))
            |> usersOf

        member _.Subscribe(follower, target) =
            guard (fun () ->
                let tran = db.CreateTransaction(null)

                tran.SetAddAsync(key (RedisKeys.follows follower), value (Username.value target), CommandFlags.None)
                |> ignore

                tran.SetAddAsync(key (RedisKeys.followers target), value (Username.value follower), CommandFlags.None)
                |> ignore

                tran.Execute(CommandFlags.None) |> ignore)

        member _.Unsubscribe(follower, target) =
            guard (fun () ->
                let tran = db.CreateTransaction(null)

                tran.SetRemoveAsync(key (RedisKeys.follows follower), value (Username.value target), CommandFlags.None)
                |> ignore

                tran.SetRemoveAsync(
                    key (RedisKeys.followers target),
                    value (Username.value follower),
                    CommandFlags.None
                )
                |> ignore

                tran.Execute(CommandFlags.None) |> ignore)

        member _.Subscriptions follower =
            guard (fun () -> db.SetMembers(key (RedisKeys.follows follower), CommandFlags.None))
            |> usersOf

        member _.Say(room, from, text, unixMs) =
            let prefix, suffix = RedisBusTemplate.said room from text

            let args = [|
                limitArg
                value (Username.value from)
                RedisValue.op_Implicit (unixMs: int64)
                value text
                value prefix
                value suffix
            |]

            // Checked before issuing, so that an outage answers at once.
            if not muxer.IsConnected then
                raise (BackendUnavailable "Redis is not connected")

            // Not awaited here: the caller sends its next message at once, and only a failure has
            // anything to do. The id is read on the library's thread, without a state machine.
            issue(fun () ->
                db.ScriptEvaluateAsync(RedisScripts.say, [| key (RedisKeys.history room) |], args, CommandFlags.None))
                .ContinueWith(sayOutcome, TaskContinuationOptions.ExecuteSynchronously)

        member _.Publish(from, text) =
            let head, middle, tail = RedisBusTemplate.published from text

            match strings (eval RedisScripts.publish [] [ Username.value from; head; middle; tail ]) with
            | [| id; n |] when (MsgId.tryCreate id).IsSome -> (MsgId.tryCreate id).Value, int n
            | other -> failwithf "unexpected reply from the publish script: %A" other

        member _.History(room, count) =
            // With MAXLEN ~ the stream may hold a little more than the limit; never show more.
            let n = min count historyLimit

            if n <= 0 then
                []
            else
                guard (fun () ->
                    db.StreamRange(
                        key (RedisKeys.history room),
                        value "-",
                        value "+",
                        Nullable n,
                        Order.Descending,
                        CommandFlags.None
                    ))
                |> Array.choose historyEntry
                |> Array.rev
                |> List.ofArray

        member _.Announce event =
            eval RedisScripts.announce [] [ BusCodec.encode event ] |> ignore

        member _.Listen handler =
            listener <- handler

            if isNull subscribed then
                let reliable = new RedisBus(muxer, deliver, warn)

                try
                    reliable.Start()
                    // The ordered queue hands over one message at a time, in receive order: the
                    // bus's order depends on it. What arrives before OnMessage waits in the queue.
                    // After a reconnect the library subscribes this queue again by itself.
                    let queue = guard (fun () -> sub.Subscribe(bus, CommandFlags.None))

                    // The queue drops what a handler throws without a word: log it here.
                    queue.OnMessage(fun (m: ChannelMessage) ->
                        try
                            reliable.Receive(string m.Message)
                        with e ->
                            warn (sprintf "bus message dropped by an unexpected error: %O" e))

                    subscribed <- queue
                    receiver <- Some reliable
                with _ ->
                    (reliable :> IDisposable).Dispose()
                    reraise ()

    interface IDisposable with
        /// Stops listening and deregisters; the server released its sessions before.
        member _.Dispose() =
            if not disposed then
                disposed <- true

                try
                    if not (isNull subscribed) then
                        guard (fun () -> subscribed.Unsubscribe(CommandFlags.None))
                with e ->
                    warn (sprintf "could not unsubscribe from the bus: %s" e.Message)

                receiver |> Option.iter (fun r -> (r :> IDisposable).Dispose())
                muxer.InternalError.RemoveHandler onInternalError
                (liveness :> IDisposable).Dispose()
