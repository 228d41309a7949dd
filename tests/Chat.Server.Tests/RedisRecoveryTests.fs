namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.Net
open System.Net.Sockets
open NUnit.Framework
open Chat.Domain
open Chat.Server
open Given

/// Instances and Redis going away and coming back. A redis-server of its own: these tests kill it.
[<TestFixture>]
type RedisRecoveryTests() =
    let mutable h: RedisHarness = Unchecked.defaultof<_>

    [<OneTimeSetUp>]
    member _.Start() = h <- new RedisHarness()

    [<OneTimeTearDown>]
    member _.Stop() = (h :> IDisposable).Dispose()

    [<SetUp>]
    member _.Fresh() = h.Fresh()

    [<Test>]
    member _.``a dead server's sessions are swept and announced as Exited``() =
        let survivor = h.On "survivor"
        survivor.Listen h.Record
        let ann, annSid = user "ann", newSid ()
        survivor.Claim(ann, annSid, Reject) |> ignore
        let doomed = h.On "doomed"
        let bob, bobSid, den = user "bob", newSid (), room "den"
        doomed.Claim(bob, bobSid, Reject) |> ignore
        doomed.Move(bob, bobSid, lobby, den) |> ignore
        Poll.until within "doomed registered" (fun () -> h.IsMember "chat:servers" "doomed")
        // It goes without releasing its session, as a crashed server would.
        doomed.Dispose()
        h.Get [ "DEL"; "chat:server:doomed:alive" ] |> ignore
        Assert.That(h.IsMember "chat:servers" "doomed", Is.True, "listed while it holds sessions")

        Poll.until (TimeSpan.FromSeconds 20.0) "bob's Exited" (fun () ->
            List.contains (BusEvent.Exited(bob, bobSid, den)) h.Events)

        Assert.That(h.Get [ "EXISTS"; "chat:session:bob" ], eq "0")
        Assert.That(survivor.Online(), eq [ ann ])
        Assert.That(survivor.Rooms(), eq [ lobby, 1 ])
        Poll.until within "doomed forgotten" (fun () -> not (h.IsMember "chat:servers" "doomed"))
        Assert.That(h.Get [ "HGET"; "chat:session:ann"; "sid" ], eq (SessionId.value annSid))

    [<Test>]
    member _.``after a flush and a reconnect the local sessions are written again``() =
        let ann, annSid, den = user "ann", newSid (), room "den"
        let cat, catSid = user "cat", newSid ()
        let b = h.On("keeper", (fun () -> [ ann, annSid, den; cat, catSid, lobby ]))
        b.Claim(ann, annSid, Reject) |> ignore
        b.Move(ann, annSid, lobby, den) |> ignore
        b.Claim(cat, catSid, Reject) |> ignore
        h.Redis.FlushAll()
        // Meanwhile cat logged in elsewhere: that newer session must survive the re-write.
        h.Get [
            "HSET"
            "chat:session:cat"
            "sid"
            "newer"
            "server"
            "other"
            "room"
            "lobby"
        ]
        |> ignore

        h.Get [ "CLIENT"; "KILL"; "TYPE"; "normal" ] |> ignore

        Poll.until within "ann re-written" (fun () ->
            h.Get [ "HGET"; "chat:session:ann"; "sid" ] = SessionId.value annSid)

        Assert.That(h.Get [ "HGET"; "chat:session:ann"; "room" ], eq "den")

        for key in [ "chat:online"; "chat:room:den"; "chat:server:keeper:sessions" ] do
            Assert.That(h.IsMember key "ann", Is.True, key)

        Assert.That(h.IsMember "chat:rooms" "den" && h.IsMember "chat:servers" "keeper", Is.True)
        Assert.That(h.Get [ "EXISTS"; "chat:server:keeper:alive" ], eq "1")
        Assert.That(h.Get [ "HGET"; "chat:session:cat"; "sid" ], eq "newer")
        Assert.That(h.IsMember "chat:server:keeper:sessions" "cat", Is.False)

    [<Test>]
    member _.``while Redis is down calls fail fast with BackendUnavailable, and service resumes after``() =
        let ann, annSid = user "ann", newSid ()
        let b = h.On("phoenix", (fun () -> [ ann, annSid, lobby ]))
        b.Listen h.Record
        b.Claim(ann, annSid, Reject) |> ignore

        let unavailable (f: unit -> unit) =
            let clock = Stopwatch.StartNew()

            let failed =
                try
                    f ()
                    false
                with BackendUnavailable _ ->
                    true

            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds 3.0), "never hangs")
            failed

        h.Redis.Kill()
        Poll.until within "BackendUnavailable" (fun () -> unavailable (fun () -> b.Online() |> ignore))
        Assert.That(unavailable (fun () -> b.Claim(user "bob", newSid (), Reject) |> ignore), Is.True)
        h.Redis.Restart()

        Poll.until (TimeSpan.FromSeconds 20.0) "ann restored" (fun () ->
            try
                b.Online() = [ ann ]
            with BackendUnavailable _ ->
                false)

        Poll.until within "bus subscription restored" (fun () ->
            h.Get [ "PUBSUB"; "NUMSUB"; "chat:bus" ] = "chat:bus\n1")

        let id = b.Say(lobby, ann, "back", now ()).Result
        h.WaitForEvents "Said after the restart" (List.contains (BusEvent.Said(lobby, id, ann, "back")))

    [<Test>]
    member _.``connect gives up on an unreachable Redis with a clear error``() =
        let listener = new TcpListener(IPAddress.Loopback, 0)
        listener.Start()
        let port = (listener.LocalEndpoint :?> IPEndPoint).Port
        listener.Stop()
        let clock = Stopwatch.StartNew()

        let error =
            try
                (RedisBackend.connect $"127.0.0.1:{port}" (TimeSpan.FromSeconds 1.0)).Dispose()
                None
            with RedisUnreachable _ as e ->
                Some e.Message

        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds 6.0))
        Assert.That(error, Is.Not.Null)
        Assert.That(error.Value, Does.Contain $"127.0.0.1:{port}")
