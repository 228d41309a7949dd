namespace Chat.Server.Tests

open System
open System.Diagnostics
open Expecto
open Chat.Testing

/// HELLO, LOGIN, REGISTER and what may be done before login (PROTOCOL.md "Before login", "Names").
module E2eLogin =
    let private pw = ServerFixture.Password

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eLogin" [
            "--demo-users"
            "--min-password"
            "10"
            "--server-id"
            "e2e-login"
            "--bcrypt-cost"
            "8"
        ] [
            case "HELLO chat/1 with the server id is the first line"
            <| fun (this: ServerFixture) ->
                let c = this.Connect()
                Expect.equal c.Received.Head c.Hello "c.Received.Head"
                Expect.stringStarts c.Hello "HELLO chat/1 e2e-login " "c.Hello"

            case "LOGIN of a demo account answers OK LOGIN in the lobby"
            <| fun (this: ServerFixture) ->
                let c = this.Connect()
                Expect.equal (c.Command "LOGIN bob secret456") "OK LOGIN bob lobby" "c.Command 'LOGIN bob secret456'"
                Expect.contains (Lines.items "WHO" (c.Command "/who")) "bob" "Lines.items 'WHO' (c.Command '/who')"

            case "a LOGIN pipelined with commands is answered first, then the commands in order"
            <| fun (this: ServerFixture) ->
                let c = this.Connect()
                c.SendAll [ "LOGIN charlie hello789"; "/join pipelined"; "/who" ]
                Expect.equal (c.Next()) "OK LOGIN charlie lobby" "the first line after HELLO"
                Expect.equal (c.Next()) "OK JOIN pipelined" "the second"
                Expect.equal (c.Next()) "OK WHO pipelined charlie" "the third"

            case "user names are folded to lower case: Alice logs in as alice and others see alice"
            <| fun (this: ServerFixture) ->
                let w, _ = this.User "watch"
                let c = this.Connect()

                Expect.equal
                    (c.Command "LOGIN Alice password123")
                    "OK LOGIN alice lobby"
                    "c.Command 'LOGIN Alice password123'"

                w.Expect "SYS JOIN lobby alice" |> ignore
                c.Send "hi from Alice"
                let _, _, from, text = w.ExpectPrefix "MSG lobby " |> Lines.msg
                Expect.equal (from, text) ("alice", "hi from Alice") "(from, text)"
                let users = Lines.items "USERS" (w.Command "/users")
                Expect.contains users "alice" "users"
                Expect.notContains users "Alice" "users"

            case "unknown user and wrong password get the same AUTH_FAILED, and the connection goes on"
            <| fun (this: ServerFixture) ->
                let c = this.Connect()
                let wrong = c.Command "LOGIN charlie not-his-password"
                let unknown = c.Command "LOGIN nobody-here some-password"
                Expect.stringStarts wrong "ERR AUTH_FAILED " "wrong"
                Expect.equal unknown wrong "unknown"
                c.Login("charlie", "hello789")

            case "an unknown user takes the time of a wrong password (bcrypt either way)"
            <| fun (this: ServerFixture) ->
                let c, name = this.User "timing"
                c.Send "/quit"
                c.WaitClosed()
                let d = this.Connect()

                let time (line: string) =
                    let sw = Stopwatch.StartNew()
                    Expect.stringStarts (d.Command line) "ERR AUTH_FAILED " "d.Command line"
                    sw.Elapsed.TotalMilliseconds

                // Interleaved, so that both see the same load; the fastest of each is its bcrypt floor
                // (load only adds time). Without a bcrypt, an unknown user would take a ping's time.
                let samples = [
                    for i in 1..4 -> time $"LOGIN {name} wrong-password", time $"LOGIN ghost-{i} wrong-password"
                ]

                let wrong = samples |> List.map fst |> List.min
                let unknown = samples |> List.map snd |> List.min
                printfn $"fastest: unknown user {unknown:F1} ms, wrong password {wrong:F1} ms"
                Expect.isGreaterThan unknown (wrong * 0.5) $"unknown user {unknown} ms, wrong password {wrong} ms"

            case "REGISTER creates the account and logs in; the account works for a later LOGIN"
            <| fun (this: ServerFixture) ->
                let name = this.Name "NewUser"
                let c = this.Connect()

                Expect.equal
                    (c.Command $"REGISTER {name} {pw}")
                    $"OK REGISTER {name.ToLowerInvariant()} lobby"
                    "c.Command $'REGISTER {name} {pw}'"

                Expect.equal (c.Command "/quit") "OK QUIT" "c.Command '/quit'"
                c.WaitClosed()
                this.Connect().Login(name.ToUpperInvariant(), pw)

            case "REGISTER of a taken name is USER_EXISTS, whatever its case"
            <| fun (this: ServerFixture) ->
                let _, name = this.User "taken"
                let c = this.Connect()

                for line in
                    [
                        $"REGISTER {name} {pw}"
                        $"REGISTER {name.ToUpperInvariant()} {pw}"
                        $"REGISTER ALICE {pw}"
                    ] do
                    Expect.stringStarts (c.Command line) "ERR USER_EXISTS " line

                Expect.stringStarts (c.Command "/who") "ERR NOT_LOGGED_IN " "c.Command '/who'"

            case "REGISTER asks for --min-password characters; a refused REGISTER creates nothing"
            <| fun (this: ServerFixture) ->
                let name = this.Name "short"
                let c = this.Connect()

                Expect.stringStarts
                    (c.Command $"REGISTER {name} 123456789")
                    "ERR BAD_ARGUMENT "
                    "c.Command $'REGISTER {name} 123456789'"

                Expect.equal
                    (c.Command $"REGISTER {name} 1234567890")
                    $"OK REGISTER {name} lobby"
                    "c.Command $'REGISTER {name} 1234567890'"

            case "REGISTER counts characters, not UTF-16 code units"
            <| fun (this: ServerFixture) ->
                let name = this.Name "emoji"
                let c = this.Connect()
                let nine = String.replicate 9 "\U0001F600" // 9 characters, 18 UTF-16 code units, 36 bytes
                Expect.stringStarts (c.Command $"REGISTER {name} {nine}") "ERR BAD_ARGUMENT " "9 characters"

                Expect.equal
                    (c.Command $"REGISTER {name} {String('\u00e9', 10)}")
                    $"OK REGISTER {name} lobby"
                    "c.Command $'REGISTER {name} {String('\\u00e9', 10)}'"

            case "passwords over 72 bytes are refused, never cut; 72 bytes work"
            <| fun (this: ServerFixture) ->
                let c = this.Connect()
                let long = this.Name "long"
                let p72 = String('p', 72)

                Expect.stringStarts
                    (c.Command $"REGISTER {long} {String('x', 73)}")
                    "ERR BAD_ARGUMENT "
                    "c.Command $'REGISTER {long} {String('x', 73)}'"

                Expect.stringStarts
                    (c.Command $"LOGIN alice {String('x', 73)}")
                    "ERR BAD_ARGUMENT "
                    "c.Command $'LOGIN alice {String('x', 73)}'"

                Expect.stringStarts
                    (c.Command $"REGISTER {long} {String('\u00e9', 37)}")
                    "ERR BAD_ARGUMENT "
                    "c.Command $'REGISTER {long} {String('\\u00e9', 37)}'"

                c.Register(long, p72)
                c.Send "/quit"
                c.WaitClosed()
                let d = this.Connect()

                Expect.stringStarts
                    (d.Command $"LOGIN {long} {p72}q")
                    "ERR BAD_ARGUMENT "
                    "d.Command $'LOGIN {long} {p72}q'"

                Expect.stringStarts
                    (d.Command $"LOGIN {long} {String('p', 71)}")
                    "ERR AUTH_FAILED "
                    "d.Command $'LOGIN {long} {String('p', 71)}'"

                d.Login(long, p72)
                let accented = this.Name "accent"
                this.Connect().Register(accented, String('\u00e9', 36))
                this.Connect().Login(accented, String('\u00e9', 36))

            case "a password is the rest of the line and may contain spaces"
            <| fun (this: ServerFixture) ->
                let name = this.Name "spaces"
                let phrase = "correct horse  battery staple"
                this.Connect().Register(name, phrase)
                let c = this.Connect()

                Expect.stringStarts
                    (c.Command $"LOGIN {name} correct horse")
                    "ERR AUTH_FAILED "
                    "c.Command $'LOGIN {name} correct horse'"

                c.Login(name, phrase)
            yield!
                cases "malformed LOGIN and REGISTER are BAD_ARGUMENT" [
                    "LOGIN"
                    "LOGIN alice"
                    "LOGIN alice "
                    "LOGIN bad!name password123"
                    "LOGIN .dot password123"
                    "LOGIN abcdefghijabcdefghijabcdefghijabc password123"
                    "REGISTER"
                    "REGISTER newbie"
                    "REGISTER -dash pass-word-123"
                    "REGISTER caf\u00e9 pass-word-123"
                ]
                <| fun (this: ServerFixture) (line: string) ->
                    let c = this.Connect()
                    Expect.stringStarts (c.Command line) "ERR BAD_ARGUMENT " "c.Command line"
                    c.Sync()

            case "a 32-character user name is valid"
            <| fun (this: ServerFixture) ->
                let name = "u" + this.Name("").PadLeft(31, '0')
                Expect.equal name.Length 32 "name.Length"
                this.Connect().Register(name, pw)
            yield!
                cases "before login, anything else is NOT_LOGGED_IN" [
                    "hello everyone"
                    "//slashed text"
                    "/join room1"
                    "/join"
                    "/leave"
                    "/rooms"
                    "/who"
                    "/users"
                    "/subscribe alice"
                    "/unsubscribe alice"
                    "/subs"
                    "/publish news"
                    "/history"
                    "/history 5"
                    "/no-such-command"
                ]
                <| fun (this: ServerFixture) (line: string) ->
                    let w, _ = this.User "lobbyist"
                    let c = this.Connect()
                    Expect.stringStarts (c.Command line) "ERR NOT_LOGGED_IN " "c.Command line"

                    w.AssertNotReceived(
                        (fun l -> l.StartsWith "MSG " || l.StartsWith "PUB "),
                        "a message from an anonymous client"
                    )

            case "/help, /ping and /quit work before login"
            <| fun (this: ServerFixture) ->
                let c = this.Connect()
                Expect.equal (c.Command "/help") "OK HELP" "c.Command '/help'"
                let between = c.Received |> List.tail |> List.takeWhile (fun l -> l <> "OK HELP")
                Expect.isNonEmpty between "between"
                Expect.all between (fun (l: string) -> l.StartsWith "INFO ") "between"
                Expect.equal (c.Command "/ping") "OK PONG" "c.Command '/ping'"
                Expect.equal (c.Command "/ping tok-1") "OK PONG tok-1" "c.Command '/ping tok-1'"
                Expect.equal (c.Command "/quit") "OK QUIT" "c.Command '/quit'"
                c.WaitClosed()

            case "after login, LOGIN and REGISTER are ALREADY_LOGGED_IN and change nothing"
            <| fun (this: ServerFixture) ->
                let c, name = this.User "twice"
                let other = this.Name "other"

                Expect.stringStarts
                    (c.Command $"LOGIN {name} {pw}")
                    "ERR ALREADY_LOGGED_IN "
                    "c.Command $'LOGIN {name} {pw}'"

                Expect.stringStarts
                    (c.Command $"REGISTER {other} {pw}")
                    "ERR ALREADY_LOGGED_IN "
                    "c.Command $'REGISTER {other} {pw}'"

                Expect.contains (Lines.items "WHO" (c.Command "/who")) name "Lines.items 'WHO' (c.Command '/who')"
                this.Connect().Register(other, pw)

            case "after login: /help is INFO lines then OK HELP; /ping answers with and without token"
            <| fun (this: ServerFixture) ->
                let c, _ = this.User "helper"
                c.Sync()
                c.Clear()
                Expect.equal (c.Command "/help") "OK HELP" "c.Command '/help'"
                let lines = c.TakeAll(fun _ -> true)
                Expect.isNonEmpty lines "lines"
                Expect.all lines (fun (l: string) -> l.StartsWith "INFO ") "lines"
                Expect.equal (c.Command "/ping") "OK PONG" "c.Command '/ping'"
                Expect.equal (c.Command "/ping some token") "OK PONG some token" "c.Command '/ping some token'"

            case "/quit after login: OK QUIT, the connection closes, the room sees SYS LEAVE"
            <| fun (this: ServerFixture) ->
                let w, _ = this.User "stay"
                let c, name = this.User "quitter"
                w.Expect $"SYS JOIN lobby {name}" |> ignore
                Expect.equal (c.Command "/quit") "OK QUIT" "c.Command '/quit'"
                c.WaitClosed()
                Expect.equal (c.Received |> List.last) "OK QUIT" "c.Received |> List.last"
                w.Expect $"SYS LEAVE lobby {name}" |> ignore
            yield!
                cases "an unknown /word after login is UNKNOWN_COMMAND, and the connection goes on" [
                    "/frobnicate"
                    "/joinx room"
                ]
                <| fun (this: ServerFixture) (line: string) ->
                    let c, _ = this.User "unknown"
                    Expect.stringStarts (c.Command line) "ERR UNKNOWN_COMMAND " "c.Command line"
                    c.Sync()
        ]
