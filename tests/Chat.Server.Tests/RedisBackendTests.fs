namespace Chat.Server.Tests

open System
open System.Collections.Concurrent
open System.Threading
open Expecto
open Chat.Testing
open Chat.Domain
open Chat.Server
open Given

/// A redis-server for one test class, and the backends its tests make, each on a connection of its
/// own as a separate server process would have. `Fresh` before each test.
type RedisHarness() =
    let redis = new RedisServer()
    let owned = ResizeArray<IDisposable>()
    let warnings = ConcurrentQueue<string>()
    let events = ConcurrentQueue<BusEvent>()

    let clean () =
        for d in Seq.rev owned do
            d.Dispose()

        owned.Clear()

    member _.Redis = redis
    member _.Warnings = List.ofSeq warnings
    /// What backends listening with `Record` received, in arrival order.
    member _.Events = List.ofSeq events
    member _.Record(event: BusEvent) = events.Enqueue event

    member this.WaitForEvents (what: string) (condition: BusEvent list -> bool) =
        Poll.until within what (fun () -> condition this.Events)

    /// A backend whose connection the harness disposes (after the caller disposed the backend).
    member _.Connect(serverId: string, ?localSessions, ?historyLimit) : IChatBackend =
        let muxer = RedisBackend.connect redis.Configuration within
        owned.Add muxer
        let locals = defaultArg localSessions (fun () -> [])
        new RedisBackend(muxer, serverId, defaultArg historyLimit 1000, locals, warnings.Enqueue) :> IChatBackend

    /// A backend the harness disposes.
    member this.On(serverId: string, ?localSessions) =
        let b = this.Connect(serverId, ?localSessions = localSessions)
        owned.Add b
        b

    /// The schema, as other tools see it: one command on a connection of its own.
    member _.Get(args: string list) = redis.Command args

    member this.IsMember (key: string) (value: string) =
        this.Get [ "SISMEMBER"; key; value ] = "1"

    /// Disposes what the last test made, then empties Redis (restarting it if a test left it down).
    member _.Fresh() =
        clean ()

        if not redis.IsRunning then
            redis.Restart()

        redis.FlushAll()
        warnings.Clear()
        events.Clear()

    interface ITestScope with
        member _.EndTest() = []

        member _.Diagnostics() =
            $"redis-server log:\n{redis.LogTail 20}"

    interface IDisposable with
        member _.Dispose() =
            clean ()
            (redis :> IDisposable).Dispose()

module RedisSuite =
    /// The tests of `cases` in sequence, on one redis-server, made `Fresh` before each test.
    let tests (name: string) (cases: Case<RedisHarness> list) =
        Harness.shared name (fun () -> new RedisHarness()) [
            for c in cases ->
                case c.Name (fun h ->
                    h.Fresh()
                    c.Body h)
        ]

/// The port's contract (BackendContract) against a real redis-server.
module RedisBackendContract =
    [<Tests>]
    let tests =
        let mutable servers = 0

        RedisSuite.tests "RedisBackendContract" [
            for c in BackendContract.cases ->
                case c.Name (fun (h: RedisHarness) ->
                    // Disposed at the end of the test, before the next test's `Fresh` disposes their connections.
                    use scope =
                        new ContractScope(fun historyLimit ->
                            servers <- servers + 1
                            h.Connect(sprintf "contract-%d" servers, historyLimit = historyLimit))

                    Harness.run scope c.Body)
        ]

/// What only a shared store has: the documented schema, races and ordering between instances.
module RedisBackendTests =
    [<Tests>]
    let tests =
        RedisSuite.tests "RedisBackendTests" [
            case "the documented keys hold what they should"
            <| fun (h: RedisHarness) ->
                let b = h.On "schema"
                let ann, sid, den = user "ann", newSid (), room "den"
                Expect.isTrue (b.CreateAccount(ann, "h")) "b.CreateAccount(ann, 'h')"
                Expect.equal (h.Get [ "HGET"; "chat:{u:ann}:account"; "hash" ]) "h" "the account hash"
                login b ann sid Reject |> ignore
                Expect.isTrue (b.Move(ann, sid, lobby, den)) "b.Move(ann, sid, lobby, den)"

                let session =
                    [ "sid"; "server"; "room"; "gen" ]
                    |> List.map (fun f -> h.Get [ "HGET"; "chat:{u:ann}:session"; f ])

                Expect.equal session [ SessionId.value sid; "schema"; "den"; "1" ] "session"

                Expect.isNull
                    (h.Get [ "HGET"; "chat:{u:ann}:session"; "leaving" ])
                    "a finished move leaves nothing to leave"

                let entry = "1:" + SessionId.value sid
                Expect.equal (h.Get [ "HGET"; "chat:{r:den}:members"; "ann" ]) entry "the room's members"
                Expect.isNull (h.Get [ "HGET"; "chat:{r:lobby}:members"; "ann" ]) "left the lobby"
                Expect.equal (h.Get [ "HGET"; "chat:{index}:online"; "ann" ]) entry "the online index"

                Expect.equal
                    (h.Get [ "HGET"; "chat:{s:schema}:sessions"; "ann" ])
                    (SessionId.value sid)
                    "the server's sessions"

                Expect.isTrue (h.IsMember "chat:{index}:rooms" "den") "the rooms index"
                Poll.until within "registration" (fun () -> h.IsMember "chat:{index}:servers" "schema")
                Expect.inRange (int (h.Get [ "TTL"; "chat:{s:schema}:alive" ])) 1 10 "the alive key's TTL"

                b.Subscribe(user "ben", ann)

                Expect.isTrue
                    (h.IsMember "chat:{u:ben}:follows" "ann"
                     && h.IsMember "chat:{u:ann}:followers" "ben")
                    "follows and followers"

                b.RecordFailedLogin(ann, "10.1.2.3")

                for key in [ "chat:{u:ann}:failed"; "chat:{a:10.1.2.3}:failed" ] do
                    Expect.inRange (int (h.Get [ "TTL"; key ])) 1 60 key

                let id = b.Say(den, ann, "hi", 42L).Result
                let log = (h.Get [ "XRANGE"; "chat:{r:den}:log"; "-"; "+" ]).Split '\n'
                // The entry, then the move's: {p, e, ms} each, the said one last.
                Expect.equal
                    log[log.Length - 7 ..]
                    [| MsgId.value id; "p"; log[log.Length - 14]; "e"; "S\tann\thi"; "ms"; "42" |]
                    "the said entry"

                Expect.equal (h.Get [ "XLEN"; "chat:{r:den}:log" ]) "2" "the entry into den, and the message"

                Expect.equal (b.Release(ann, sid, den)) (Some den) "b.Release(ann, sid, den)"
                Expect.isNull (h.Get [ "HGET"; "chat:{index}:online"; "ann" ]) "offline"
                b.Dispose()
                Expect.isFalse (h.IsMember "chat:{index}:servers" "schema") "deregistered"
                Expect.equal (h.Get [ "EXISTS"; "chat:{s:schema}:alive" ]) "0" "no alive key"

            case "two servers logging one user in at once leave exactly one session, everywhere"
            <| fun (h: RedisHarness) ->
                let backends = [| h.On "race-a"; h.On "race-b" |]
                let rounds = 100

                let policy i =
                    if i % 2 = 0 then ForceLogout else Reject

                let results = Array2D.zeroCreate<SessionId * bool> 2 rounds
                let failures = ConcurrentQueue<exn>()
                use barrier = new Barrier(2)

                let racer k =
                    Thread(fun () ->
                        try
                            for i in 0 .. rounds - 1 do
                                let sid = newSid ()
                                barrier.SignalAndWait()
                                let won = login backends[k] (user (sprintf "racer%d" i)) sid (policy i)
                                results[k, i] <- sid, won.IsSome
                        with e ->
                            failures.Enqueue e
                            barrier.RemoveParticipant())

                let threads = [ racer 0; racer 1 ]
                threads |> List.iter (fun t -> t.Start())
                Expect.isTrue (threads |> List.forall (fun t -> t.Join(TimeSpan.FromSeconds 60.0))) "racers finished"
                Expect.isEmpty failures "failures"

                for i in 0 .. rounds - 1 do
                    let u = sprintf "racer%d" i
                    let (sidA, a), (sidB, b) = results[0, i], results[1, i]

                    match policy i with
                    | Reject -> Expect.isTrue (a <> b) $"{u}: exactly one of two logins under reject"
                    | ForceLogout -> Expect.isTrue (a && b) $"{u}: both logins succeed under force-logout"

                    let owner = h.Get [ "HGET"; $"chat:{{u:{u}}}:session"; "sid" ]
                    Expect.contains [ SessionId.value sidA; SessionId.value sidB ] owner u
                    let gen = h.Get [ "HGET"; $"chat:{{u:{u}}}:session"; "gen" ]
                    let entry = gen + ":" + owner
                    // Whatever order the two logins' writes arrived in, the indexes name the winner.
                    Expect.equal (h.Get [ "HGET"; "chat:{index}:online"; u ]) entry $"{u} online"
                    Expect.equal (h.Get [ "HGET"; "chat:{r:lobby}:members"; u ]) entry $"{u} in the lobby"

                    let holders =
                        [ "race-a"; "race-b" ]
                        |> List.filter (fun s -> h.Get [ "HEXISTS"; $"chat:{{s:{s}}}:sessions"; u ] = "1")

                    Expect.equal holders.Length 1 $"{u}: one server holds the session"

                Expect.equal (h.Get [ "HLEN"; "chat:{index}:online" ]) (string rounds) "everyone online once"

            case "each room's events reach every instance in one order, once"
            <| fun (h: RedisHarness) ->
                let instances = [ h.On "order-a"; h.On "order-b" ]
                let seen = instances |> List.map (fun b -> b, ConcurrentQueue<BusEvent>())

                for b, q in seen do
                    b.Listen q.Enqueue

                // Both instances have a member in each room: they read both rooms' streams.
                let den, dot = room "den", room "dot"

                for k, b in List.indexed instances do
                    for r in [ den; dot ] do
                        let u, s = user $"m{k}{RoomName.value r}", newSid ()
                        login b u s Reject |> ignore
                        Expect.isTrue (b.Move(u, s, lobby, r)) "moved in"

                let n = 100
                let failures = ConcurrentQueue<exn>()

                let sender (b: IChatBackend) name (r: RoomName) =
                    Thread(fun () ->
                        try
                            for i in 1..n do
                                b.Say(r, user name, string i, now ()).Result |> ignore
                        with e ->
                            failures.Enqueue e)

                let threads = [
                    sender instances[0] "ann" den
                    sender instances[1] "bob" den
                    sender instances[1] "cat" dot
                ]

                threads |> List.iter (fun t -> t.Start())
                threads |> List.iter (fun t -> t.Join())
                Expect.isEmpty failures "failures"

                let said r (q: ConcurrentQueue<BusEvent>) =
                    q
                    |> List.ofSeq
                    |> List.choose (function
                        | BusEvent.Said(x, id, from, text) when x = r -> Some(id, Username.value from, int text)
                        | _ -> None)

                for _, q in seen do
                    Poll.until within "every message on every instance" (fun () ->
                        (said den q).Length >= 2 * n && (said dot q).Length >= n)

                let orders = seen |> List.map (snd >> said den)
                Expect.equal orders[1] orders[0] "one order of den's messages on both instances"
                Expect.equal (orders[0] |> List.map (fun (id, _, _) -> id) |> List.distinct).Length (2 * n) "each once"

                for name in [ "ann"; "bob" ] do
                    let texts =
                        orders[0]
                        |> List.filter (fun (_, f, _) -> f = name)
                        |> List.map (fun (_, _, t) -> t)

                    Expect.equal texts [ 1..n ] name

                let ids =
                    orders[0]
                    |> List.map (fun (id, _, _) -> StreamPos.tryParse (MsgId.value id) |> Option.get)

                Expect.equal ids (List.sort ids) "ids ordered as delivered"

            case "malformed channel messages are dropped with a warning"
            <| fun (h: RedisHarness) ->
                let b = h.On "listener"
                b.Listen h.Record
                let ann, sid = user "ann", newSid ()
                login b ann sid Reject |> ignore
                h.WaitForEvents "ann's entry" (List.contains (BusEvent.Entered(ann, sid, lobby)))
                h.Get [ "SPUBLISH"; "chat:{r:lobby}:events"; "not a framed entry" ] |> ignore
                b.Say(lobby, ann, "after", now ()).Result |> ignore

                h.WaitForEvents
                    "the message after"
                    (List.exists (function
                        | BusEvent.Said _ -> true
                        | _ -> false))

                Expect.isTrue
                    (h.Warnings |> List.exists (fun w -> w.Contains "malformed"))
                    "a warning names the malformed message"
        ]
