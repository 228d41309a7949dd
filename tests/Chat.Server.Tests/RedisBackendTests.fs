namespace Chat.Server.Tests

open System
open System.Collections.Concurrent
open System.Threading
open NUnit.Framework
open Chat.Domain
open Chat.Server
open Given

/// A redis-server for one test class, and the backends its tests make, each on a connection of its
/// own as a separate server process would have. `Fresh` before each test.
type RedisHarness() =
    let redis = new RedisFixture()
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

    interface IDisposable with
        member _.Dispose() =
            clean ()
            (redis :> IDisposable).Dispose()

/// The port's contract (BackendContract) against a real redis-server.
[<TestFixture>]
type RedisBackendContract() =
    inherit BackendContract()
    let mutable h: RedisHarness = Unchecked.defaultof<_>
    let mutable servers = 0

    override _.Create historyLimit =
        servers <- servers + 1
        h.Connect(sprintf "contract-%d" servers, historyLimit = historyLimit)

    [<OneTimeSetUp>]
    member _.Start() = h <- new RedisHarness()

    [<OneTimeTearDown>]
    member _.Stop() = (h :> IDisposable).Dispose()

    // The base class disposes the test's backends at TearDown; their connections go here, after.
    [<SetUp>]
    member _.Fresh() = h.Fresh()

/// What only a shared store has: the documented schema, races and ordering between instances.
[<TestFixture>]
type RedisBackendTests() =
    let mutable h: RedisHarness = Unchecked.defaultof<_>

    [<OneTimeSetUp>]
    member _.Start() = h <- new RedisHarness()

    [<OneTimeTearDown>]
    member _.Stop() = (h :> IDisposable).Dispose()

    [<SetUp>]
    member _.Fresh() = h.Fresh()

    [<Test>]
    member _.``the documented keys hold what they should``() =
        let b = h.On "schema"
        let ann, sid, den = user "ann", newSid (), room "den"
        Assert.That(b.CreateAccount(ann, "h"), Is.True)
        Assert.That(h.Get [ "HGET"; "chat:user:ann"; "hash" ], eq "h")
        b.Claim(ann, sid, Reject) |> ignore
        b.Move(ann, sid, lobby, den) |> ignore

        let session =
            [ "sid"; "server"; "room" ]
            |> List.map (fun f -> h.Get [ "HGET"; "chat:session:ann"; f ])

        Assert.That(session, eq [ SessionId.value sid; "schema"; "den" ])

        for key in [ "chat:online"; "chat:room:den"; "chat:server:schema:sessions" ] do
            Assert.That(h.IsMember key "ann", Is.True, key)

        Assert.That(h.IsMember "chat:rooms" "den" && not (h.IsMember "chat:rooms" "lobby"), Is.True)
        Poll.until within "registration" (fun () -> h.IsMember "chat:servers" "schema")
        Assert.That(int (h.Get [ "TTL"; "chat:server:schema:alive" ]), Is.InRange(1, 10))
        b.Subscribe(user "ben", ann)

        Assert.That(h.IsMember "chat:follows:ben" "ann" && h.IsMember "chat:followers:ann" "ben", Is.True)

        b.RecordFailedLogin(ann, "10.1.2.3")

        for key in [ "chat:fail:u:ann"; "chat:fail:a:10.1.2.3" ] do
            Assert.That(int (h.Get [ "TTL"; key ]), Is.InRange(1, 60), key)

        let id = b.Say(den, ann, "hi", 42L).Result

        Assert.That(
            h.Get [ "XRANGE"; "chat:history:den"; "-"; "+" ],
            eq (MsgId.value id + "\nfrom\nann\nms\n42\ntext\nhi")
        )

        b.Release(ann, sid) |> ignore
        b.Dispose()
        Assert.That(h.IsMember "chat:servers" "schema", Is.False)
        Assert.That(h.Get [ "EXISTS"; "chat:server:schema:alive" ], eq "0")

    [<Test>]
    member _.``two servers claiming one user at once leave exactly one session``() =
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
        Assert.That(threads |> List.forall (fun t -> t.Join(TimeSpan.FromSeconds 60.0)), Is.True, "racers finished")
        Assert.That(failures, Is.Empty)

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
            Assert.That(h.Get [ "HGET"; "chat:session:" + u; "sid" ], eq (SessionId.value winner), u)
            Assert.That(h.Get [ "HGET"; "chat:session:" + u; "server" ], eq server, u)
            Assert.That(h.IsMember "chat:online" u && h.IsMember "chat:room:lobby" u, Is.True, u)

            let holders =
                [ "race-a"; "race-b" ]
                |> List.filter (fun s -> h.IsMember ($"chat:server:{s}:sessions") u)

            Assert.That(holders, eq [ server ], u)

        Assert.That(h.Get [ "SCARD"; "chat:online" ], eq (string rounds))

    [<Test>]
    member _.``every instance sees one total order, and each publisher's events in the order sent``() =
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
        Assert.That(failures, Is.Empty)

        for _, q in seen do
            Poll.until within "every event on every instance" (fun () -> q.Count >= 2 * n)

        let orders = seen |> List.map (snd >> List.ofSeq)
        Assert.That(orders[1], eq orders[0])

        let textsOf name =
            orders[0]
            |> List.choose (function
                | BusEvent.Said(_, _, from, text)
                | BusEvent.Published(_, from, text, _) when from = user name -> Some(int text)
                | _ -> None)

        for name in [ "ann"; "bob" ] do
            Assert.That(textsOf name, eq [ 1..n ], name)

    [<Test>]
    member _.``malformed bus lines are dropped with a warning``() =
        let b = h.On "listener"
        b.Listen h.Record
        h.Get [ "PUBLISH"; "chat:bus"; "X\tnot a user!\tsid\tlobby" ] |> ignore
        let kicked = BusEvent.Kicked(user "ann", newSid ())
        b.Announce kicked
        h.WaitForEvents "the Kicked" (List.contains kicked)
        Assert.That(h.Events, eq [ kicked ])
        Assert.That(h.Warnings |> List.exists (fun w -> w.Contains "malformed"), Is.True)
