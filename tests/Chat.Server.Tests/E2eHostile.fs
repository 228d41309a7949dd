namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.IO
open System.Net.Sockets
open System.Text
open System.Threading.Tasks
open FsCheck
open FsCheck.FSharp
open Expecto
open Chat.Testing
open Chat.Domain
open Chat.Server.Tests.FuzzLineReader

/// What the server must answer to garbage, computed from the framing model (FuzzLineReader) and the
/// pure decisions.
module Hostile =
    /// The --max-line of the hostile fixture.
    [<Literal>]
    let MaxLine = 1024

    let private limits: Decide.Limits = { MinPassword = 8; MsgRate = 0 }

    /// The lines a connection that has not logged in gets for `input`, in order; None when a line
    /// of it is a command that does more than answer (LOGIN, REGISTER, /ping, /help, /quit).
    let anonymousReplies (input: byte array) : string list option =
        let perLine =
            LineModel.lines MaxLine input
            |> List.map (function
                | Error e -> Some [ Protocol.render (Framing.reply e) ]
                | Result.Ok text ->
                    match Protocol.parse text with
                    | None -> Some []
                    | Some(Result.Ok(Login _ | Register _ | Ping _ | Help | Quit)) -> None
                    | Some parsed ->
                        let _, effects = Decide.decide limits 0L Anonymous parsed

                        let replies =
                            effects
                            |> List.choose (function
                                | Reply msg -> Some(Protocol.render msg)
                                | _ -> None)

                        if replies.Length = effects.Length then
                            Some replies
                        else
                            None)

        if perLine |> List.forall Option.isSome then
            Some(perLine |> List.collect Option.get)
        else
            None

    /// The lines a logged-in connection gets for `input` when every line of it is refused before
    /// parsing (or blank); None when some line would be accepted.
    let refusals (input: byte array) : string list option =
        let perLine =
            LineModel.lines MaxLine input
            |> List.map (function
                | Error e -> Some [ Protocol.render (Framing.reply e) ]
                | Result.Ok text when LineText.isBlank text -> Some []
                | Result.Ok _ -> None)

        if perLine |> List.forall Option.isSome then
            Some(perLine |> List.collect Option.get)
        else
            None

    let private terminated (bytes: byte array) =
        if bytes.Length > 0 && bytes[bytes.Length - 1] = 10uy then
            bytes
        else
            Array.append bytes [| 10uy |]

    /// Garbage of every kind (NUL, invalid UTF-8, lone `\r`, escape sequences, long lines), ending
    /// in `\n`, sent in writes of random sizes; only what draws answers only.
    let anonymousGarbage =
        gen {
            let! pieces = Gen.listOf (Gens.piece MaxLine) |> Gen.resize 40
            let! seed = Gen.choose (0, Int32.MaxValue)
            let! largest = Gen.choose (1, 4096)
            let! whole = Gen.elements [ true; false ]

            return {
                MaxLine = MaxLine
                Input = terminated (Array.concat pieces)
                Cut = if whole then Whole else InPieces(seed, largest)
            }
        }
        |> Gen.where (fun c -> (anonymousReplies c.Input).IsSome)

    /// Bytes that no valid line can hold: each is a control character, or invalid UTF-8, in any
    /// context.
    let private poison =
        Gen.elements [
            [| 0uy |]
            [| 27uy |]
            [| 127uy |]
            [| 0xffuy |]
            [| 0xc0uy |]
            [| 0xc2uy; 0x9buy |] // U+009B, C1 CSI
            Encoding.ASCII.GetBytes "\u001b[2J\u001b[H" // clear screen, cursor home
        ]

    /// One line that the server must refuse: garbage with poison somewhere in it, or too long.
    let private refusedLine =
        gen {
            let! content =
                Gen.listOf (Gens.piece MaxLine)
                |> Gen.resize 8
                |> Gen.map (Array.concat >> Array.filter ((<>) 10uy))

            let! bad = poison
            let! at = Gen.choose (0, content.Length)
            let! terminator = Gen.elements [ "\n"; "\r\n" ] |> Gen.map Encoding.ASCII.GetBytes
            return Array.concat [ content[.. at - 1]; bad; content[at..]; terminator ]
        }

    let refusedGarbage =
        gen {
            let! lines = Gen.nonEmptyListOf refusedLine |> Gen.resize 30
            let! seed = Gen.choose (0, Int32.MaxValue)
            let! largest = Gen.choose (1, 4096)

            return {
                MaxLine = MaxLine
                Input = Array.concat lines
                Cut = InPieces(seed, largest)
            }
        }

    /// VmRSS of a process, in bytes.
    let rss (pid: int) =
        File.ReadAllLines $"/proc/{pid}/status"
        |> Array.find (fun l -> l.StartsWith "VmRSS:")
        |> fun l -> l.Substring(6).Trim().Split(' ')[0] |> int64 |> (*) 1024L


    let check (maxTest: int) (gen: Gen<'a>) (property: 'a -> Property) =
        Check.One(Config.QuickThrowOnFailure.WithMaxTest maxTest, Prop.forAll (Arb.fromGen gen) property)

/// Garbage after TLS, plaintext garbage and broken handshakes, against one server: the sender gets
/// well-formed answers and can go on, nobody else notices, and the server keeps serving.
module E2eHostile =
    /// A logged-in user alone in a new room, who must not notice anything.
    let private observer (this: ServerFixture) =
        let room = this.Name "watch"
        let observer, _ = this.UserIn("watcher", room)
        observer, room

    /// The observer answers at once and has received nothing but answers to its own commands (and
    /// the `expected` events).
    let private assertUnaffectedWith (this: ServerFixture) (observer: LineClient) (expected: string list) =
        let clock = Stopwatch.StartNew()
        Expect.equal (observer.Command "/ping still there") "OK PONG still there" "observer.Command '/ping still there'"
        Expect.isLessThan clock.Elapsed (TimeSpan.FromSeconds 3.0) "the observer's ping took"

        let others =
            observer.Received
            |> List.filter (fun l -> not (l.StartsWith "HELLO " || l.StartsWith "OK "))

        Expect.equal others expected "the observer received"
        Expect.isFalse this.Server.HasExited "the server process exited"

    let private assertUnaffected (this: ServerFixture) (observer: LineClient) = assertUnaffectedWith this observer []

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eHostile" [ "--max-line"; string Hostile.MaxLine; "--msg-rate"; "0" ] [
            case "garbage before login: one well-formed ERR per line, exactly as the model says; then /ping works"
            <| fun (this: ServerFixture) ->
                let observer, _ = observer this

                Hostile.check 50 Hostile.anonymousGarbage (fun c ->
                    use client = LineClient.Connect(this.Server.Port, this.Server.CertFile, "garbage")

                    for piece in c.Pieces do
                        client.SendBytes piece

                    client.Send "/ping x"
                    let pong = client.Expect "OK PONG x"
                    let expected = (Hostile.anonymousReplies c.Input).Value
                    let got = client.Received |> List.tail |> List.truncate expected.Length

                    let malformed =
                        got
                        |> List.filter (fun l ->
                            match ServerLine.parse l with
                            | Some(Err _) -> false
                            | _ -> true)

                    (pong = "OK PONG x" |> Prop.label $"the ping got {pong}")
                    .&. (malformed.IsEmpty |> Prop.label $"not well-formed ERR lines: {malformed}")
                    .&. (got = expected
                         |> Prop.label $"expected {expected}\n     got {client.Describe()}")
                    .&. (client.Received.Length = expected.Length + 2
                         |> Prop.label $"extra lines: {client.Describe()}"))

                assertUnaffected this observer

            case "garbage after login: every line refused, nothing delivered to the room, the session goes on"
            <| fun (this: ServerFixture) ->
                let observer, room = observer this
                let name = this.Name "vandal"
                let vandal = this.Connect name
                vandal.Register(name, ServerFixture.Password)
                Expect.equal (vandal.Command $"/join {room}") $"OK JOIN {room}" "vandal.Command $'/join {room}'"
                observer.ExpectPrefix $"SYS JOIN {room} {name}" |> ignore

                Hostile.check 40 Hostile.refusedGarbage (fun c ->
                    vandal.Clear()
                    let before = vandal.Received.Length

                    for piece in c.Pieces do
                        vandal.SendBytes piece

                    vandal.Send "/ping x"
                    let pong = vandal.Expect "OK PONG x"
                    let expected = (Hostile.refusals c.Input).Value
                    let got = vandal.Received |> List.skip before |> List.truncate expected.Length

                    (pong = "OK PONG x" |> Prop.label $"the ping got {pong}")
                    .&. (got = expected
                         |> Prop.label $"expected {expected}\n     got {vandal.Describe()}")
                    .&. (vandal.Received.Length = before + expected.Length + 1
                         |> Prop.label $"extra lines: {vandal.Describe()}"))

                assertUnaffectedWith this observer ([ $"SYS JOIN {room} {name}" ])
                vandal.Send "a real message at last"
                let _, _, from, text = observer.ExpectPrefix $"MSG {room} " |> Lines.msg
                Expect.equal (from, text) (name, "a real message at last") "(from, text)"

            case "garbage sent one byte at a time is answered as if sent at once"
            <| fun (this: ServerFixture) ->
                let observer, _ = observer this

                let garbage =
                    Array.concat [
                        [| 0uy; 0xffuy; 13uy |]
                        Encoding.ASCII.GetBytes "\u001b[31mred\u001b[0m\n"
                        Encoding.ASCII.GetBytes(String('w', Hostile.MaxLine + 300) + "\r\n")
                        Encoding.UTF8.GetBytes "caf\u00e9 "
                        [| 0xc3uy; 10uy |] // truncated character
                        Encoding.ASCII.GetBytes "bare\rcr\n\r\n\n/join \u0001x\n"
                        [| 0xeduy; 0xa0uy; 0x80uy; 10uy |] // UTF-16 surrogate
                        Encoding.UTF8.GetBytes "/who \u009b\nnot logged in\n"
                    ]

                let expected = (Hostile.anonymousReplies garbage).Value
                Expect.hasLength expected 8 "the garbage as written"
                let trickle = this.Connect "trickle"
                let atOnce = this.Connect "at-once"

                for b in garbage do
                    trickle.SendBytes [| b |]

                atOnce.SendBytes garbage

                for client in [ trickle; atOnce ] do
                    client.Send "/ping x"
                    client.Expect "OK PONG x" |> ignore
                    Expect.equal client.Received ([ client.Hello ] @ expected @ [ "OK PONG x" ]) client.Name

                assertUnaffected this observer

            case "a 1 MB line without newline: LINE_TOO_LONG before it ends, once; others unaffected; memory flat"
            <| fun (this: ServerFixture) ->
                let observer, room = observer this
                let name = this.Name "flood"
                let flood = this.Connect name
                flood.Register(name, ServerFixture.Password)
                Expect.equal (flood.Command $"/join {room}") $"OK JOIN {room}" "flood.Command $'/join {room}'"
                flood.Sync()
                let pid = this.Server.Pid
                let before = Hostile.rss pid
                let rnd = Random 20240613
                let megabyte = 1 <<< 20
                // Anything but \n: NUL, invalid UTF-8 and escapes included.
                let chunk = Array.init megabyte (fun _ -> byte (rnd.Next(11, 256)))
                flood.SendBytes chunk
                // Reported as soon as the line passes the limit, while it is still open.
                flood.ExpectPrefix "ERR LINE_TOO_LONG " |> ignore
                let afterOne = Hostile.rss pid

                // The same line goes on for 31 MB more: a server that kept it would grow by more than that.
                let more =
                    Task.Run(fun () ->
                        for _ in 1..31 do
                            flood.SendBytes chunk)

                let joined = [ $"SYS JOIN {room} {name}" ]
                assertUnaffectedWith this observer (joined)
                Expect.isTrue (more.Wait(TimeSpan.FromSeconds 60.0)) "31 MB more written within 60 s"
                flood.SendBytes [| 10uy |]
                flood.Send "/ping x"
                flood.Expect "OK PONG x" |> ignore
                let after = Hostile.rss pid

                let errors = flood.Received |> List.filter (fun l -> l.StartsWith "ERR ")
                Expect.hasLength errors 1 (flood.Describe())

                printfn
                    "%s"
                    ($"server RSS: {before / 1024L} kB before, {afterOne / 1024L} kB after 1 MB, {after / 1024L} kB after 32 MB")

                Expect.isLessThan (afterOne - before) (50L * 1024L * 1024L) "RSS growth after 1 MB"
                Expect.isLessThan (after - before) (50L * 1024L * 1024L) "RSS growth after 32 MB"
                assertUnaffectedWith this observer (joined)
                flood.Send "and now a message"
                let _, _, _, text = observer.ExpectPrefix $"MSG {room} " |> Lines.msg
                Expect.equal text "and now a message" "text"

            case "plaintext garbage gets exactly the TLS_REQUIRED line and is closed"
            <| fun (this: ServerFixture) ->
                let observer, _ = observer this

                let plaintext =
                    Gen.map2
                        (fun first rest -> Array.append [| first |] rest)
                        (Gen.choose (0, 255) |> Gen.where ((<>) 0x16) |> Gen.map byte)
                        (Gen.arrayOf (Gen.choose (0, 255) |> Gen.map byte))

                Hostile.check 50 plaintext (fun garbage ->
                    use tcp = Raw.connect this.Server.Port
                    tcp.GetStream().Write garbage
                    let received, closed, error = Raw.readToEnd tcp
                    let text = Encoding.ASCII.GetString received

                    (text = "ERR TLS_REQUIRED this server accepts TLS connections only\n"
                     |> Prop.label $"received {text} ({error})")
                    .&. (closed |> Prop.label "closed"))

                assertUnaffected this observer

            case "truncated or garbled ClientHellos are refused without fuss"
            <| fun (this: ServerFixture) ->
                let observer, _ = observer this
                let hello = Raw.clientHello 0x0303

                let broken =
                    gen {
                        let! cut =
                            Gen.frequency [ 1, Gen.constant hello.Length; 2, Gen.choose (1, hello.Length - 1) ]

                        let! flips =
                            Gen.listOf (Gen.zip (Gen.choose (1, hello.Length - 1)) (Gen.choose (0, 255)))

                        let bytes = Array.copy hello

                        for at, value in flips do
                            bytes[at] <- byte value

                        return bytes[.. cut - 1]
                    }
                    |> Gen.where (fun b -> b <> hello)

                Hostile.check 60 broken (fun bytes ->
                    use tcp = Raw.connect this.Server.Port
                    let stream = tcp.GetStream()
                    stream.Write bytes
                    // End of our side: the server is left with what it got and must give up on it.
                    tcp.Client.Shutdown SocketShutdown.Send
                    let received, closed, error = Raw.readStreamToEnd stream

                    (closed |> Prop.label $"still open ({error})")
                    .&. ((received.Length = 0 || received[0] = 0x15uy || received[0] = 0x16uy)
                         |> Prop.label $"not a TLS record: {BitConverter.ToString received}"))

                assertUnaffected this observer
                let fresh = this.Connect "after-hellos"
                Expect.equal (fresh.Command "/ping fresh") "OK PONG fresh" "fresh.Command '/ping fresh'"
        ]

/// Connections that never start TLS, in numbers.
module E2eHostileIdle =
    [<Tests>]
    let tests =
        ServerSuite.tests "E2eHostileIdle" [ "--handshake-timeout"; "1"; "--max-conns-per-address"; "0" ] [
            case "200 connections that never start TLS are all closed, and a new client is served meanwhile and after"
            <| fun (this: ServerFixture) ->
                let clock = Stopwatch.StartNew()
                let idle = [ for _ in 1..200 -> Raw.connect this.Server.Port ]

                try
                    let meanwhile = this.Connect "meanwhile"

                    Expect.equal
                        (meanwhile.Command "/ping meanwhile")
                        "OK PONG meanwhile"
                        "meanwhile.Command '/ping meanwhile'"

                    let outcomes = [ for tcp in idle -> Raw.readToEnd tcp ]

                    let stillOpen =
                        outcomes |> List.filter (fun (_, closed, _) -> not closed) |> List.length

                    let sent =
                        outcomes |> List.filter (fun (bytes, _, _) -> bytes.Length > 0) |> List.length

                    Expect.equal stillOpen 0 "connections still open after the handshake timeout"
                    Expect.equal sent 0 "connections that received something"
                    Expect.isLessThan clock.Elapsed (TimeSpan.FromSeconds 15.0) "clock.Elapsed"
                finally
                    for tcp in idle do
                        tcp.Dispose()

                Expect.isFalse this.Server.HasExited "this.Server.HasExited"
                let after = this.Connect "after"
                Expect.equal (after.Command "/ping after") "OK PONG after" "after.Command '/ping after'"
        ]
