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
                Expect.equal (h.Get [ "HGET"; "chat:user:ann"; "hash" ]) "h" "h.Get [ 'HGET'; 'chat:user:ann'; 'hash' ]"
                b.Claim(ann, sid, Reject) |> ignore
                b.Move(ann, sid, lobby, den) |> ignore

                let session =
                    [ "sid"; "server"; "room" ]
                    |> List.map (fun f -> h.Get [ "HGET"; "chat:session:ann"; f ])

                Expect.equal session ([ SessionId.value sid; "schema"; "den" ]) "session"

                for key in [ "chat:online"; "chat:room:den"; "chat:server:schema:sessions" ] do
                    Expect.isTrue (h.IsMember key "ann") key

                Expect.isTrue
                    (h.IsMember "chat:rooms" "den" && not (h.IsMember "chat:rooms" "lobby"))
                    "h.IsMember 'chat:rooms' 'den' && not (h.IsMember 'chat:rooms' 'lobby')"

                Poll.until within "registration" (fun () -> h.IsMember "chat:servers" "schema")

                Expect.inRange
                    (int (h.Get [ "TTL"; "chat:server:schema:alive" ]))
                    1
                    10
                    "int (h.Get [ 'TTL'; 'chat:server:schema:alive' ])"

                b.Subscribe(user "ben", ann)

                Expect.isTrue
                    (h.IsMember "chat:follows:ben" "ann" && h.IsMember "chat:followers:ann" "ben")
                    "h.IsMember 'chat:follows:ben' 'ann' && h.IsMember 'chat:followers:ann' 'ben'"

                b.RecordFailedLogin(ann, "10.1.2.3")

                for key in [ "chat:fail:u:ann"; "chat:fail:a:10.1.2.3" ] do
                    Expect.inRange (int (h.Get [ "TTL"; key ])) 1 60 key

                let id = b.Say(den, ann, "hi", 42L).Result

                Expect.equal
                    (h.Get [ "XRANGE"; "chat:history:den"; "-"; "+" ])
                    (MsgId.value id + "\nfrom\nann\nms\n42\ntext\nhi")
                    "h.Get [ 'XRANGE'; 'chat:history:den'; '-'; '+' ]"

                b.Release(ann, sid) |> ignore
                b.Dispose()
                Expect.isFalse (h.IsMember "chat:servers" "schema") "h.IsMember 'chat:servers' 'schema'"

                Expect.equal
                    (h.Get [ "EXISTS"; "chat:server:schema:alive" ])
                    "0"
                    "h.Get [ 'EXISTS'; 'chat:server:schema:alive' ]"

            case "two servers claiming one user at once leave exactly one session"
            <| fun (h: RedisHarness) ->
                let backends = [| h.On "race-a"; h.On "race-b" |]
                let rounds = 200

                let policy i =
                    if i % 2 = 0 then ForceLogout else Reject

                let results = Array2D.zeroCreate<SessionId * ClaimOutcome> 2 rounds
                let failures = ConcurrentQueue<exn>()
                use barrier = new Barrier(2)

                let racer k =
                    Thread(fun () ->
                        try
                            for i in 0 .. rounds - 1 do
                                let sid = newSid ()
                                barrier.SignalAndWait()
                                results[k, i] <- sid, backends[k].Claim(user (sprintf "racer%d" i), sid, policy i)
                        with e ->
                            failures.Enqueue e
                            barrier.RemoveParticipant())

                let threads = [ racer 0; racer 1 ]
                threads |> List.iter (fun t -> t.Start())
                Expect.isTrue (threads |> List.forall (fun t -> t.Join(TimeSpan.FromSeconds 60.0))) "racers finished"
                Expect.isEmpty failures "failures"

                for i in 0 .. rounds - 1 do
                    let (sidA, a), (sidB, b) = results[0, i], results[1, i]

                    let winner, server =
                        match policy i, a, b with
                        | Reject, Claimed None, AlreadyOnline -> sidA, "race-a"
                        | Reject, AlreadyOnline, Claimed None -> sidB, "race-b"
                        | ForceLogout, Claimed None, Claimed(Some(s, r)) when s = sidA && r = lobby -> sidB, "race-b"
                        | ForceLogout, Claimed(Some(s, r)), Claimed None when s = sidB && r = lobby -> sidA, "race-a"
                        | p, a, b -> failwithf "round %d (%A): %A / %A" i p a b

                    let u = sprintf "racer%d" i
                    Expect.equal (h.Get [ "HGET"; "chat:session:" + u; "sid" ]) (SessionId.value winner) u
                    Expect.equal (h.Get [ "HGET"; "chat:session:" + u; "server" ]) server u
                    Expect.isTrue (h.IsMember "chat:online" u && h.IsMember "chat:room:lobby" u) u

                    let holders =
                        [ "race-a"; "race-b" ]
                        |> List.filter (fun s -> h.IsMember ($"chat:server:{s}:sessions") u)

                    Expect.equal holders ([ server ]) u

                Expect.equal (h.Get [ "SCARD"; "chat:online" ]) (string rounds) "h.Get [ 'SCARD'; 'chat:online' ]"

            case "every instance sees one total order, and each publisher's events in the order sent"
            <| fun (h: RedisHarness) ->
                let instances = [ h.On "order-a"; h.On "order-b" ]
                let seen = instances |> List.map (fun b -> b, ConcurrentQueue<BusEvent>())

                for b, q in seen do
                    b.Listen q.Enqueue

                let n = 100
                let failures = ConcurrentQueue<exn>()
                // Room messages (EVAL) and announced events (PUBLISH) interleaved, from two publishers at once.
                let publisher (b: IChatBackend) name =
                    Thread(fun () ->
                        try
                            for i in 1..n do
                                if i % 2 = 0 then
                                    b.Say(lobby, user name, string i, now ()).Result |> ignore
                                else
                                    let id = MsgId.tryCreate (string i) |> Option.get
                                    b.Announce(BusEvent.Published(id, user name, string i, []))
                        with e ->
                            failures.Enqueue e)

                let threads = List.map2 publisher instances [ "ann"; "bob" ]
                threads |> List.iter (fun t -> t.Start())
                threads |> List.iter (fun t -> t.Join())
                Expect.isEmpty failures "failures"

                for _, q in seen do
                    Poll.until within "every event on every instance" (fun () -> q.Count >= 2 * n)

                let orders = seen |> List.map (snd >> List.ofSeq)
                Expect.equal (orders[1]) (orders[0]) "orders[1]"

                let textsOf name =
                    orders[0]
                    |> List.choose (function
                        | BusEvent.Said(_, _, from, text)
                        | BusEvent.Published(_, from, text, _) when from = user name -> Some(int text)
                        | _ -> None)

                for name in [ "ann"; "bob" ] do
                    Expect.equal (textsOf name) ([ 1..n ]) name

            case "malformed bus lines are dropped with a warning"
            <| fun (h: RedisHarness) ->
                let b = h.On "listener"
                b.Listen h.Record
                h.Get [ "PUBLISH"; "chat:bus"; "X\tnot a user!\tsid\tlobby" ] |> ignore
                let kicked = BusEvent.Kicked(user "ann", newSid ())
                b.Announce kicked
                h.WaitForEvents "the Kicked" (List.contains kicked)
                Expect.equal h.Events ([ kicked ]) "h.Events"

                Expect.isTrue
                    (h.Warnings |> List.exists (fun w -> w.Contains "malformed"))
                    "h.Warnings |> List.exists (fun w -> w.Contains 'malformed')"
        ]
