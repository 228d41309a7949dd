namespace Chat.Server.Tests

open System
open System.Threading
open NUnit.Framework

/// `--send-queue`: a client that does not read is cut off, and slows no one down.
[<TestFixture>]
type E2eSlowConsumer() =
    inherit ServerFixture([ "--send-queue"; "16"; "--msg-rate"; "0" ])

    [<Test>]
    member this.``a client that stops reading is disconnected; the others receive everything, in order``() =
        let room = this.Name "flood"
        let slowName = this.Name "slow"
        let slow = this.Connect(slowName, receiveBuffer = 4096)
        slow.Register(slowName, ServerFixture.Password)
        Assert.That(slow.Command $"/join {room}", Is.EqualTo $"OK JOIN {room}")
        let sender, sn = this.UserIn("sender", room)
        let reader, _ = this.UserIn("reader", room)
        slow.Sync()
        slow.PauseReading()
        // Bursts of 8, each read by the others before the next: a client that reads keeps up with
        // a queue of 16; the one that does not read fills its socket buffers, then its queue.
        let payload = String('f', 3000)
        let sent = ResizeArray<string>()

        let slowLeft () =
            reader.Received |> List.contains $"SYS LEAVE {room} {slowName}"

        while not (slowLeft ()) && sent.Count < 20_000 do
            let batch = [ for i in sent.Count + 1 .. sent.Count + 8 -> $"{i} {payload}" ]
            sender.SendAll batch
            sent.AddRange batch
            let last = List.last batch

            for c in [ reader; sender ] do
                c.ExpectMatch((fun l -> l.EndsWith last), "the last message of the batch", TimeSpan.FromSeconds 30.0)
                |> ignore

        Assert.That(slowLeft (), Is.True, $"the slow client was not disconnected after {sent.Count} messages")
        slow.ResumeReading()
        slow.WaitClosed(TimeSpan.FromSeconds 30.0)

        let texts (c: TestClient) =
            c.Received
            |> List.filter (Lines.isMsgFrom sn)
            |> List.map (fun l -> let _, _, _, t = Lines.msg l in t)

        Assert.That(texts reader, Is.EqualTo(box (List.ofSeq sent)), "the reader")
        Assert.That(texts sender, Is.EqualTo(box (List.ofSeq sent)), "the sender")
        Assert.That((texts slow).Length, Is.LessThan sent.Count, "the slow client")
        let errors = slow.Received |> List.filter (fun l -> l.StartsWith "ERR ")
        TestContext.Out.WriteLine($"sent {sent.Count}; the slow client got {(texts slow).Length}, then: {errors}")

        Assert.That(
            errors |> List.forall (fun l -> l.StartsWith "ERR SLOW_CONSUMER "),
            Is.True,
            String.concat "\n" errors
        )

/// `--msg-rate`: messages per second per user, bursts of twice that.
[<TestFixture>]
type E2eMessageRate() =
    inherit ServerFixture([ "--msg-rate"; "5" ])

    [<Test>]
    member this.``past the rate, messages are RATE_LIMITED and not delivered; later they go again``() =
        let room = this.Name "rate"
        let a, an = this.UserIn("a", room)
        let b, _ = this.UserIn("b", room)
        let clock = Diagnostics.Stopwatch.StartNew()
        a.SendAll [ for i in 1..30 -> $"burst {i}" ]
        a.Sync()
        let refilled = int (Math.Ceiling(clock.Elapsed.TotalSeconds * 5.0))
        let echoes = a.Received |> List.filter (Lines.isMsgFrom an)
        let limited = a.Received |> List.filter (fun l -> l.StartsWith "ERR RATE_LIMITED ")
        Assert.That(echoes.Length + limited.Length, Is.EqualTo 30, "each message is delivered or refused")
        Assert.That(limited, Is.Not.Empty)
        Assert.That(echoes.Length, Is.InRange(10, 10 + refilled), "a burst of 2n, plus what refilled meanwhile")
        b.Sync()
        Assert.That(b.Received |> List.filter (Lines.isMsgFrom an), Is.EqualTo(box echoes), "what the room got")
        a.Clear()
        let deadline = DateTime.UtcNow.AddSeconds 10.0
        let mutable delivered = false
        let mutable attempt = 0

        while not delivered && DateTime.UtcNow < deadline do
            attempt <- attempt + 1
            a.Send $"later {attempt}"

            let reply =
                a.ExpectMatch((fun l -> l.StartsWith "ERR " || l.EndsWith $" later {attempt}"), "an answer")

            delivered <- reply.StartsWith "MSG "

            if not delivered then
                Thread.Sleep 100 // the bucket refills with time

        Assert.That(delivered, Is.True, "a message goes again once the rate allows")

/// `--login-failures`: per username, and 4n per peer address.
[<TestFixture>]
type E2eLoginFailures() =
    inherit ServerFixture([ "--login-failures"; "2"; "--demo-users" ])

    [<Test>]
    member this.``past the failures of a username, even the right password is RATE_LIMITED``() =
        let c = this.Connect()

        for _ in 1..2 do
            Assert.That(c.Command "LOGIN alice wrong-password", Does.StartWith "ERR AUTH_FAILED ")

        Assert.That(c.Command "LOGIN alice password123", Does.StartWith "ERR RATE_LIMITED ")

        Assert.That(
            this.Connect().Command "LOGIN Alice password123",
            Does.StartWith "ERR RATE_LIMITED ",
            "on another connection"
        )

        this.Connect().Login("bob", "secret456")

    [<Test>]
    member this.``unknown user names count too``() =
        let c = this.Connect()

        for _ in 1..2 do
            Assert.That(c.Command "LOGIN ghost wrong-password", Does.StartWith "ERR AUTH_FAILED ")

        Assert.That(c.Command "LOGIN ghost wrong-password", Does.StartWith "ERR RATE_LIMITED ")

    [<Test>]
    member this.``past 4n failures from one address, every login from it is RATE_LIMITED``() =
        use server = ServerProcess.Start [ "--login-failures"; "1"; "--demo-users" ]
        let c = this.ConnectTo(server, "many")

        for i in 1..4 do
            Assert.That(c.Command $"LOGIN stranger{i} wrong-password", Does.StartWith "ERR AUTH_FAILED ")

        Assert.That(c.Command "LOGIN charlie hello789", Does.StartWith "ERR RATE_LIMITED ")

/// `--login-failures 0`: no limit.
[<TestFixture>]
type E2eNoLoginLimit() =
    inherit ServerFixture([ "--login-failures"; "0"; "--demo-users" ])

    [<Test>]
    member this.``with --login-failures 0, failures are not limited``() =
        let c = this.Connect()

        for _ in 1..25 do
            Assert.That(c.Command "LOGIN alice wrong-password", Does.StartWith "ERR AUTH_FAILED ")

        c.Login("alice", "password123")

/// `--max-conns-per-address`: past it, a new connection is closed.
[<TestFixture>]
type E2eMaxConnections() =
    inherit ServerFixture([ "--max-conns-per-address"; "2" ])

    let refused (port: int) =
        use tcp = Raw.connect port
        let received, closed, error = Raw.readToEnd tcp
        Assert.That(closed, Is.True, "the connection over the limit is still open")
        Assert.That(received, Is.Empty, error)

    [<Test>]
    member this.``the connection over the limit is closed; a freed place can be taken again``() =
        let first = this.Connect "first"
        this.Connect "second" |> ignore
        refused this.Server.Port
        Assert.That(first.Command "/quit", Is.EqualTo "OK QUIT")
        first.WaitClosed()
        let deadline = DateTime.UtcNow.AddSeconds 10.0
        let mutable again = None

        while again.IsNone && DateTime.UtcNow < deadline do
            try
                again <- Some(this.Connect "again")
            with _ ->
                Thread.Sleep 50 // the server counts the connection out once its session has ended

        Assert.That(again.IsSome, Is.True, "a place was freed by /quit")
        refused this.Server.Port
