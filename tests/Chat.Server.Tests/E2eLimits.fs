namespace Chat.Server.Tests

open System
open System.Threading
open Expecto
open Chat.Testing

/// `--send-queue`: a client that does not read is cut off, and slows no one down.
module E2eSlowConsumer =
    [<Tests>]
    let tests =
        ServerSuite.tests "E2eSlowConsumer" [ "--send-queue"; "16"; "--msg-rate"; "0" ] [
            case "a client that stops reading is disconnected; the others receive everything, in order"
            <| fun (this: ServerFixture) ->

                let room = this.Name "flood"
                let slowName = this.Name "slow"
                let slow = this.Connect(slowName, receiveBuffer = 4096)
                slow.Register(slowName, ServerFixture.Password)
                Expect.equal (slow.Command $"/join {room}") $"OK JOIN {room}" "slow.Command $'/join {room}'"
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
                        c.ExpectMatch(
                            (fun l -> l.EndsWith last),
                            "the last message of the batch",
                            TimeSpan.FromSeconds 30.0
                        )
                        |> ignore

                Expect.isTrue (slowLeft ()) $"the slow client was not disconnected after {sent.Count} messages"
                slow.ResumeReading()
                slow.WaitClosed(TimeSpan.FromSeconds 30.0)

                let texts (c: LineClient) =
                    c.Received
                    |> List.filter (Lines.isMsgFrom sn)
                    |> List.map (fun l -> let _, _, _, t = Lines.msg l in t)

                Expect.equal (texts reader) (List.ofSeq sent) "the reader"
                Expect.equal (texts sender) (List.ofSeq sent) "the sender"
                Expect.isLessThan ((texts slow).Length) sent.Count "the slow client"
                let errors = slow.Received |> List.filter (fun l -> l.StartsWith "ERR ")
                printfn $"sent {sent.Count}; the slow client got {(texts slow).Length}, then: {errors}"

                Expect.isTrue
                    (errors |> List.forall (fun l -> l.StartsWith "ERR SLOW_CONSUMER "))
                    (String.concat "\n" errors)
        ]

/// `--msg-rate`: messages per second per user, bursts of twice that.
module E2eMessageRate =
    [<Tests>]
    let tests =
        ServerSuite.tests "E2eMessageRate" [ "--msg-rate"; "5" ] [
            case "past the rate, messages are RATE_LIMITED and not delivered; later they go again"
            <| fun (this: ServerFixture) ->

                let room = this.Name "rate"
                let a, an = this.UserIn("a", room)
                let b, _ = this.UserIn("b", room)
                let clock = Diagnostics.Stopwatch.StartNew()
                a.SendAll [ for i in 1..30 -> $"burst {i}" ]
                a.Sync()
                let refilled = int (Math.Ceiling(clock.Elapsed.TotalSeconds * 5.0))
                let echoes = a.Received |> List.filter (Lines.isMsgFrom an)
                let limited = a.Received |> List.filter (fun l -> l.StartsWith "ERR RATE_LIMITED ")
                Expect.equal (echoes.Length + limited.Length) 30 "each message is delivered or refused"
                Expect.isNonEmpty limited "limited"
                Expect.inRange echoes.Length 10 (10 + refilled) "a burst of 2n, plus what refilled meanwhile"
                b.Sync()
                Expect.equal (b.Received |> List.filter (Lines.isMsgFrom an)) (echoes) "what the room got"
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

                Expect.isTrue delivered "a message goes again once the rate allows"
        ]

/// `--login-failures`: per username, and 4n per peer address.
module E2eLoginFailures =
    [<Tests>]
    let tests =
        ServerSuite.tests "E2eLoginFailures" [ "--login-failures"; "2"; "--demo-users" ] [
            case "past the failures of a username, even the right password is RATE_LIMITED"
            <| fun (this: ServerFixture) ->

                let c = this.Connect()

                for _ in 1..2 do
                    Expect.stringStarts
                        (c.Command "LOGIN alice wrong-password")
                        "ERR AUTH_FAILED "
                        "c.Command 'LOGIN alice wrong-password'"

                Expect.stringStarts
                    (c.Command "LOGIN alice password123")
                    "ERR RATE_LIMITED "
                    "c.Command 'LOGIN alice password123'"

                Expect.stringStarts
                    (this.Connect().Command "LOGIN Alice password123")
                    "ERR RATE_LIMITED "
                    "on another connection"

                this.Connect().Login("bob", "secret456")

            case "unknown user names count too"
            <| fun (this: ServerFixture) ->
                let c = this.Connect()

                for _ in 1..2 do
                    Expect.stringStarts
                        (c.Command "LOGIN ghost wrong-password")
                        "ERR AUTH_FAILED "
                        "c.Command 'LOGIN ghost wrong-password'"

                Expect.stringStarts
                    (c.Command "LOGIN ghost wrong-password")
                    "ERR RATE_LIMITED "
                    "c.Command 'LOGIN ghost wrong-password'"

            case "past 4n failures from one address, every login from it is RATE_LIMITED"
            <| fun (this: ServerFixture) ->
                use server = ServerProcess.Start [ "--login-failures"; "1"; "--demo-users" ]
                let c = this.ConnectTo(server, "many")

                for i in 1..4 do
                    Expect.stringStarts
                        (c.Command $"LOGIN stranger{i} wrong-password")
                        "ERR AUTH_FAILED "
                        "c.Command $'LOGIN stranger{i} wrong-password'"

                Expect.stringStarts
                    (c.Command "LOGIN charlie hello789")
                    "ERR RATE_LIMITED "
                    "c.Command 'LOGIN charlie hello789'"
        ]

/// `--login-failures 0`: no limit.
module E2eNoLoginLimit =
    [<Tests>]
    let tests =
        ServerSuite.tests "E2eNoLoginLimit" [ "--login-failures"; "0"; "--demo-users" ] [
            case "with --login-failures 0, failures are not limited"
            <| fun (this: ServerFixture) ->

                let c = this.Connect()

                for _ in 1..25 do
                    Expect.stringStarts
                        (c.Command "LOGIN alice wrong-password")
                        "ERR AUTH_FAILED "
                        "c.Command 'LOGIN alice wrong-password'"

                c.Login("alice", "password123")
        ]

/// `--max-conns-per-address`: past it, a new connection is closed.
module E2eMaxConnections =
    let private refused (port: int) =
        use tcp = Raw.connect port
        let received, closed, error = Raw.readToEnd tcp
        Expect.isTrue closed "the connection over the limit is still open"
        Expect.isEmpty received error

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eMaxConnections" [ "--max-conns-per-address"; "2" ] [
            case "the connection over the limit is closed; a freed place can be taken again"
            <| fun (this: ServerFixture) ->
                let first = this.Connect "first"
                this.Connect "second" |> ignore
                refused this.Server.Port
                Expect.equal (first.Command "/quit") "OK QUIT" "first.Command '/quit'"
                first.WaitClosed()
                let deadline = DateTime.UtcNow.AddSeconds 10.0
                let mutable again = None

                while again.IsNone && DateTime.UtcNow < deadline do
                    try
                        again <- Some(this.Connect "again")
                    with _ ->
                        Thread.Sleep 50 // the server counts the connection out once its session has ended

                Expect.isTrue again.IsSome "a place was freed by /quit"
                refused this.Server.Port
        ]
