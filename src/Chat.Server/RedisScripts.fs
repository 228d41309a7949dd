namespace Chat.Server

open System
open System.IO
open System.Threading.Tasks
open StackExchange.Redis
open Chat.Domain

/// What the claim script found: the name was free or taken over (with the session it replaced),
/// or, under `reject`, held by another session.
type internal ClaimReply =
    /// The session's generation (the user's claim count), and the session it replaced: its sid,
    /// the server holding it, the rooms it is in.
    | Taken of generation: int64 * previous: (SessionId * string * RoomName list) option
    | HeldElsewhere

/// Where a stream's entry goes: its key, its channel, its cap, and the last id the caller saw.
type internal StreamTarget = {
    Key: string
    /// The stream's last id, kept beside it in its slot.
    Top: string
    Channel: string
    Cap: int
    Floor: StreamPos
}

/// The Lua scripts (src/Chat.Server/Lua, embedded), one typed wrapper each: the wrapper names the
/// script's keys and arguments and decodes its reply, so nothing else knows a script's layout.
/// Every script touches the keys of one entity, so one Cluster slot; the keys come from RedisKeys.
module internal RedisScripts =
    let private load (name: string) =
        use stream =
            typeof<ClaimReply>.Assembly.GetManifestResourceStream name
            |> Option.ofObj
            |> Option.defaultWith (fun () -> failwithf "the script %s is not embedded in the server" name)

        use reader = new StreamReader(stream)

        // Comments and indentation stay in the files: the library hashes the script's text on
        // every call to find its SHA, so what it hashes is kept short. That is sound only while no
        // string spans lines (`[[...]]`, a `\` at the end of a line): such a script is refused.
        let lines = reader.ReadToEnd().Split('\n') |> Array.map _.Trim()

        if
            lines
            |> Array.exists (fun l -> l.Contains "[[" || l.Contains "[=" || l.EndsWith "\\")
        then
            failwithf "the script %s has a string over several lines, which loading it would change" name

        lines
        |> Array.filter (fun line -> line <> "" && not (line.StartsWith "--"))
        |> String.concat "\n"

    let private withPreludes (preludes: string list) name =
        String.concat "\n" (List.map load preludes @ [ load name ])

    let private add = withPreludes [ "append.lua" ] "add.lua"
    let private enter = withPreludes [ "append.lua"; "fence.lua" ] "enter.lua"
    let private leave = withPreludes [ "append.lua"; "fence.lua" ] "leave.lua"
    let private publish = withPreludes [ "append.lua" ] "publish.lua"
    let private direct = withPreludes [ "append.lua" ] "direct.lua"
    let private record = withPreludes [ "fence.lua" ] "record.lua"
    let private unset = withPreludes [ "fence.lua" ] "unset.lua"
    let private claim = load "claim.lua"
    let private session = load "session.lua"
    let private release = load "release.lua"
    let private move = load "move.lua"
    let private settle = load "settle.lua"
    let private restore = load "restore.lua"
    let private count = load "count.lua"
    let private forget = load "forget.lua"

    let private k (s: string) = RedisKey.op_Implicit s
    let private v (s: string) = RedisValue.op_Implicit s
    let private n (i: int64) = RedisValue.op_Implicit i

    /// How long a script may take before it counts as failed: a command the library holds back
    /// (seen after a Cluster failover, for the failed master's slots) must not wait forever.
    let timeout = TimeSpan.FromSeconds 3.0

    let private run (db: IDatabaseAsync) script (keys: string list) (args: RedisValue list) : Task<RedisResult> =
        try
            db
                .ScriptEvaluateAsync(
                    (script: string),
                    keys |> List.map k |> Array.ofList,
                    Array.ofList args,
                    CommandFlags.None
                )
                .WaitAsync(timeout)
        with e ->
            Task.FromException<RedisResult> e

    let private map (f: RedisResult -> 'a) (t: Task<RedisResult>) =
        t.ContinueWith(
            Func<Task<RedisResult>, 'a>(fun t -> f (t.GetAwaiter().GetResult())),
            TaskContinuationOptions.ExecuteSynchronously
        )

    let private strings (r: RedisResult) : string[] = RedisResult.op_Explicit r

    let private pos (r: RedisResult) =
        match StreamPos.tryParse (string r) with
        | Some p -> p
        | None -> failwithf "a script returned the malformed stream id %O" r

    let private rooms (names: string list) =
        names |> List.choose RoomName.tryCreate |> List.distinct

    let private streamArgs (s: StreamTarget) = [ v s.Channel; n (int64 s.Cap); v (StreamPos.render s.Floor) ]

    /// One event (a room message, a direct message) added to its stream; the entry id, which is
    /// the message id.
    let addTo (db: IDatabaseAsync) (stream: StreamTarget) (line: string) (unixMs: int64) =
        run db add [ stream.Key; stream.Top ] (streamArgs stream @ [ v line; n unixMs ])
        |> map pos

    /// A session's entry in a room's members or the online index: `<generation>:<sid>`.
    let entry (generation: int64) (sid: SessionId) =
        string generation + ":" + SessionId.value sid

    /// A direct message added to the recipient's inbox: (its id, the id before it, the server
    /// holding the recipient's session if it has one).
    let directTo (db: IDatabase) (inbox: StreamTarget) (recipient: Username) (line: string) (unixMs: int64) =
        run db direct [ inbox.Key; RedisKeys.session recipient; inbox.Top ] (streamArgs inbox @ [ v line; n unixMs ])
        |> map (fun r ->
            match strings r with
            | [| id; prev; server |] ->
                match StreamPos.tryParse id, StreamPos.tryParse prev with
                | Some id, Some prev -> id, prev, (if server = "" then None else Some server)
                | _ -> failwithf "the direct script returned malformed ids %s %s" id prev
            | other -> failwithf "unexpected reply from the direct script: %A" other)

    /// The session enters the room: (members now, Some entry id, or None when it was there already
    /// or a newer session of the user is).
    let enterRoom (db: IDatabase) members (log: StreamTarget) (user: Username) (member': string) line unixMs =
        run
            db
            enter
            [ members; log.Key; log.Top ]
            ([ v (Username.value user); v member' ] @ streamArgs log @ [ v line; n unixMs ])
        |> map (fun r ->
            match strings r with
            | [| count; "" |] -> int count, None
            | [| count; id |] -> int count, StreamPos.tryParse id
            | other -> failwithf "unexpected reply from the enter script: %A" other)

    /// The session leaves the room: Some entry id, or None when the room did not hold it.
    let leaveRoom (db: IDatabase) members (log: StreamTarget) (user: Username) (sid: SessionId) line unixMs =
        run
            db
            leave
            [ members; log.Key; log.Top ]
            ([ v (Username.value user); v (SessionId.value sid) ]
             @ streamArgs log
             @ [ v line; n unixMs ])
        |> map (fun r -> if r.IsNull then None else Some(pos r))

    /// A publication: its id and recipients (the publisher's followers when it was sent).
    let publishTo (db: IDatabase) followers (log: StreamTarget) (text: string) (unixMs: int64) =
        run
            db
            publish
            [ followers; log.Key; log.Top ]
            (streamArgs log @ [ v EventLine.publicationHead; v "\t"; v text; n unixMs ])
        |> map (fun r ->
            match strings r |> List.ofArray with
            | id :: recipients ->
                match StreamPos.tryParse id with
                | Some id -> id, recipients |> List.choose Username.tryCreate
                | None -> failwithf "the publish script returned the malformed id %s" id
            | [] -> failwith "the publish script returned nothing")

    let claimName (db: IDatabase) (user: Username) (sid: SessionId) (server: string) (reject: bool) =
        let policy = if reject then "reject" else "force-logout"

        run db claim [ RedisKeys.session user; RedisKeys.claims user ] [
            v (SessionId.value sid)
            v server
            v policy
            v (RoomName.value RoomName.lobby)
        ]
        |> map (fun r ->
            match strings r with
            | [| "online" |] -> HeldElsewhere
            | [| "claimed"; gen; ""; _; _; _ |] -> Taken(int64 gen, None)
            | [| "claimed"; gen; old; server; room; leaving |] ->
                Taken(
                    int64 gen,
                    SessionId.tryCreate old
                    |> Option.map (fun old -> old, server, rooms [ room; leaving ])
                )
            | other -> failwithf "unexpected reply from the claim script: %A" other)

    /// The rooms the session is in (its room, and the one a move is leaving), while it owns the name.
    let sessionRooms (db: IDatabase) (user: Username) (sid: SessionId) =
        run db session [ RedisKeys.session user ] [ v (SessionId.value sid) ]
        |> map (fun r ->
            if r.IsNull then
                None
            else
                Some(rooms (List.ofArray (strings r))))

    /// Ends the session if sid still owns the name; true when it did.
    let releaseName (db: IDatabase) (user: Username) (sid: SessionId) =
        run db release [ RedisKeys.session user ] [ v (SessionId.value sid) ]
        |> map (fun r -> int64 r = 1L)

    /// Records the move in the session; Some (the room left, the session's generation), or None
    /// when sid no longer owns the name.
    let moveSession (db: IDatabase) (user: Username) (sid: SessionId) (into: RoomName) =
        run db move [ RedisKeys.session user ] [ v (SessionId.value sid); v (RoomName.value into) ]
        |> map (fun r ->
            if r.IsNull then
                None
            else
                match strings r with
                | [| left; gen |] -> Some(RoomName.tryCreate left, int64 gen)
                | other -> failwithf "unexpected reply from the move script: %A" other)

    let settleMove (db: IDatabase) (user: Username) (sid: SessionId) =
        run db settle [ RedisKeys.session user ] [ v (SessionId.value sid) ] :> Task

    /// Re-writes a local session Redis lost; its generation, or None when another session holds
    /// the name now.
    let restoreSession (db: IDatabase) (user: Username) (sid: SessionId) (server: string) (room: RoomName) =
        run db restore [ RedisKeys.session user; RedisKeys.claims user ] [
            v (SessionId.value sid)
            v server
            v (RoomName.value room)
        ]
        |> map (fun r ->
            match int64 r with
            | 0L -> None
            | gen -> Some gen)

    /// Removes the user's entry from the hash if it is this session's; true when it did.
    let unsetIf (db: IDatabase) (hash: string) (user: Username) (sid: SessionId) =
        run db unset [ hash ] [ v (Username.value user); v (SessionId.value sid) ]
        |> map (fun r -> int64 r = 1L)

    /// Writes the user's entry in an index hash unless one of a later claim is there.
    let recordIn (db: IDatabase) (hash: string) (user: Username) (member': string) =
        run db record [ hash ] [ v (Username.value user); v member' ] :> Task

    /// Counts one more in a counter whose window (seconds) starts with it.
    let countIn (db: IDatabase) (counter: string) (windowSeconds: int) =
        run db count [ counter ] [ n (int64 windowSeconds) ] :> Task

    /// True when the server is dead and holds no sessions.
    let isForgotten (db: IDatabase) (server: string) =
        run db forget [ RedisKeys.alive server; RedisKeys.serverSessions server ] []
        |> map (fun r -> int64 r = 1L)
