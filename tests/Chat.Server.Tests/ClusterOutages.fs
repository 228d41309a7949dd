namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.IO
open NUnit.Framework
open ClusterTesting

/// Redis going away, stalling, dropping the bus link, or restarting, while clients on two
/// instances talk (PROTOCOL.md "Guarantees": connections stay open, `ERR UNAVAILABLE`, service
/// resumes by itself).
[<TestFixture>]
type ClusterOutages() =
    inherit ClusterPerTest()

    let flags = [ "--msg-rate"; "0" ]

    /// Every message a got back (MSG) reached b too, and b saw a's messages in order, once.
    let assertDelivered (tag: string) (a: TestClient, an: string) (b: TestClient) (echoed: int list) =
        a.Sync()
        b.Sync()

        // b's copies come through the bus, which may still be reading a gap back from the log
        // after an outage (retried every second): wait for them, then check.
        let arrived () =
            let atB = numbered b an tag
            echoed |> List.forall (fun k -> List.contains k atB)

        try
            Poll.until (TimeSpan.FromSeconds 15.0) $"{an}'s messages at {b.Name}" arrived
        with :? TimeoutException ->
            ()

        let atA = numbered a an tag
        let atB = numbered b an tag
        assertIncreasing $"{a.Name}'s own messages" atA
        assertIncreasing $"{b.Name}: {an}'s messages" atB

        for k in echoed do
            Assert.That(atB, Does.Contain k, $"{tag}-{k} came back to its sender but not to {b.Name}")

    [<Test>]
    member this.``redis-server killed: connections stay, ERR UNAVAILABLE at once, service and sessions come back``() =
        let redis = this.NewRedis()
        let c = this.NewCluster(redis.Configuration, 2, flags, "down")
        let room = c.Name "room"
        let a, an = c.UserIn(1, "a", room)
        let b, bn = c.UserIn(2, "b", room)
        let echoed = ResizeArray<int>()
        let sent = ref 0

        let talk () =
            sent.Value <- sent.Value + 1

            if say a an "m" sent.Value (TimeSpan.FromSeconds 10.0) then
                echoed.Add sent.Value

        for _ in 1..10 do
            talk ()

        Assert.That(echoed, Has.Count.EqualTo 10)
        redis.Kill()

        for client in [ a; b ] do
            for command in
                [
                    "/users"
                    "/rooms"
                    "/who"
                    "/join elsewhere"
                    "/publish anyone?"
                    "/subscribe x"
                ] do
                let clock = Stopwatch.StartNew()
                let reply = client.Command(command, TimeSpan.FromSeconds 5.0)
                Assert.That(reply, Does.StartWith "ERR UNAVAILABLE ", $"{command}\n{client.Describe()}")
                Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds 3.0), command)

            Assert.That(client.Command "/ping still", Is.EqualTo "OK PONG still")

        for _ in 1..5 do
            talk ()

        redis.Restart()
        let took = waitService a an (TimeSpan.FromSeconds 15.0)
        TestContext.Out.WriteLine($"service back {took.TotalSeconds:F1} s after the restart")
        waitService b bn (TimeSpan.FromSeconds 15.0) |> ignore
        // Redis came back empty: each instance wrote its sessions back.
        waitUsers a (TimeSpan.FromSeconds 10.0) "both users listed again" (fun u -> u = List.sort [ an; bn ])
        Assert.That(Lines.items "WHO" (b.Command "/who"), Is.EqualTo(box (room :: List.sort [ an; bn ])))

        for _ in 1..10 do
            talk ()

        Assert.That(echoed |> Seq.filter (fun n -> n > 15), Has.Exactly(10).Items, a.Describe())
        assertDelivered "m" (a, an) b (List.ofSeq echoed)
        Assert.That(a.IsClosed || b.IsClosed, Is.False, "no connection was dropped")

    [<Test>]
    member this.``DEBUG SLEEP 3: answers or ERR UNAVAILABLE, nobody disconnected``() =
        let redis = this.Own(new RedisFixture())
        let c = this.NewCluster(redis.Configuration, 2, flags, "stall")
        let room = c.Name "room"
        let a, an = c.UserIn(1, "a", room)
        let b, bn = c.UserIn(2, "b", room)
        let echoed = ResizeArray<int>()
        let mutable k = 0
        let mutable slowOrRefused = 0
        let refused = ResizeArray<int>()
        let sleeping = redis.DebugSleep 3

        while not sleeping.IsCompleted do
            k <- k + 1
            let clock = Stopwatch.StartNew()

            if say a an "s" k (TimeSpan.FromSeconds 8.0) then
                echoed.Add k
            else
                refused.Add k
                slowOrRefused <- slowOrRefused + 1

            let reply = b.Command("/users", TimeSpan.FromSeconds 8.0)

            Assert.That(
                reply.StartsWith "OK USERS" || reply.StartsWith "ERR UNAVAILABLE ",
                Is.True,
                $"/users during the stall: {reply}"
            )

            if clock.Elapsed > TimeSpan.FromSeconds 1.0 || reply.StartsWith "ERR" then
                slowOrRefused <- slowOrRefused + 1

            Assert.That(b.Command "/ping", Is.EqualTo "OK PONG")

        Assert.That(slowOrRefused, Is.GreaterThan 0, "the stall was felt")
        waitService a an (TimeSpan.FromSeconds 15.0) |> ignore
        waitService b bn (TimeSpan.FromSeconds 15.0) |> ignore
        waitUsers a (TimeSpan.FromSeconds 10.0) "both users listed" (fun u -> u = List.sort [ an; bn ])

        for _ in 1..5 do
            k <- k + 1
            Assert.That(say a an "s" k (TimeSpan.FromSeconds 10.0), Is.True)
            echoed.Add k

        assertDelivered "s" (a, an) b (List.ofSeq echoed)
        // A command that timed out waiting for the stalled Redis may still have run after it.
        let late =
            refused
            |> Seq.filter (fun n -> List.contains n (numbered b an "s"))
            |> List.ofSeq

        TestContext.Out.WriteLine($"answered ERR UNAVAILABLE: {List.ofSeq refused}; of these, delivered anyway: {late}")
        Assert.That(a.IsClosed || b.IsClosed, Is.False, "no connection was dropped")

    /// A Redis that keeps what it is told (append-only file in a directory of the test's own).
    member private this.PersistentRedis() =
        let dir = Directory.CreateTempSubdirectory("chat-aof-").FullName

        this.Own(
            {
                new IDisposable with
                    member _.Dispose() = Directory.Delete(dir, true)
            }
        )
        |> ignore

        this.NewRedis dir

    [<Test>]
    member this.``a persistent Redis restarted: accounts and subscriptions survive``() =
        let redis = this.PersistentRedis()
        let c = this.NewCluster(redis.Configuration, 2, flags, "aof")
        let v, vn = c.User(2, "v")
        let keeper, kn = c.User(1, "keeper")
        let u, un = c.User(1, "u")
        Assert.That(u.Command $"/subscribe {vn}", Is.EqualTo $"OK SUBSCRIBE {vn}")
        let before, _ = Lines.published (v.Command "/publish before")
        u.Expect $"PUB {before} {vn} before" |> ignore
        Assert.That(u.Command "/quit", Is.EqualTo "OK QUIT")
        waitUsers v (TimeSpan.FromSeconds 10.0) $"{un} offline" (List.contains un >> not)
        redis.Restart()
        waitService v vn (TimeSpan.FromSeconds 15.0) |> ignore
        waitService keeper kn (TimeSpan.FromSeconds 15.0) |> ignore
        let again = c.Login(1, un)
        Assert.That(again.Command "/subs", Is.EqualTo $"OK SUBS {vn}")
        let after, n = Lines.published (v.Command "/publish after")
        Assert.That(n, Is.EqualTo 1)
        Assert.That(after, Is.Not.EqualTo before, "publication ids stay unique")
        again.Expect $"PUB {after} {vn} after" |> ignore
        let third = c.Connect(2, "third")
        Assert.That(third.Command $"REGISTER {un} {Cluster.Password}", Does.StartWith "ERR USER_EXISTS ")
        Assert.That(v.IsClosed || keeper.IsClosed, Is.False, "no connection was dropped")

    [<Test>]
    member this.``a session that ends while Redis is away is released afterwards, with SYS LEAVE``() =
        let redis = this.PersistentRedis()
        let c = this.NewCluster(redis.Configuration, 2, flags, "later")
        let v, vn = c.User(2, "v")
        let mate, mn = c.User(1, "mate")
        let w, wn = c.User(1, "w")

        for client in [ v; mate ] do
            client.Expect $"SYS JOIN lobby {wn}" |> ignore

        redis.Stop()
        // w leaves while Redis is away: its release waits for Redis.
        w.Disconnect()
        c.WaitLog(1, "cleanup deferred", TimeSpan.FromSeconds 10.0)
        redis.Restart()
        waitService v vn (TimeSpan.FromSeconds 15.0) |> ignore
        waitService mate mn (TimeSpan.FromSeconds 15.0) |> ignore
        waitUsers v (TimeSpan.FromSeconds 10.0) $"{wn} gone from /users" (List.contains wn >> not)
        Assert.That(Lines.items "WHO" (mate.Command "/who"), Does.Not.Contain wn)

        for client in [ v; mate ] do
            client.Expect($"SYS LEAVE lobby {wn}", TimeSpan.FromSeconds 5.0) |> ignore
