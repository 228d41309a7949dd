namespace Chat.Server.Tests

open System
open System.Diagnostics
open NUnit.Framework

/// HELLO, LOGIN, REGISTER and what may be done before login (PROTOCOL.md "Before login", "Names").
[<TestFixture>]
type E2eLogin() =
    inherit
        ServerFixture(
            [
                "--demo-users"
                "--min-password"
                "10"
                "--server-id"
                "e2e-login"
                "--bcrypt-cost"
                "8"
            ]
        )

    let pw = ServerFixture.Password

    [<Test>]
    member this.``HELLO chat/1 with the server id is the first line``() =
        let c = this.Connect()
        Assert.That(c.Received.Head, Is.EqualTo c.Hello)
        Assert.That(c.Hello, Does.StartWith "HELLO chat/1 e2e-login ")

    [<Test>]
    member this.``LOGIN of a demo account answers OK LOGIN in the lobby``() =
        let c = this.Connect()
        Assert.That(c.Command "LOGIN bob secret456", Is.EqualTo "OK LOGIN bob lobby")
        Assert.That(Lines.items "WHO" (c.Command "/who"), Does.Contain "bob")

    [<Test>]
    member this.``user names are folded to lower case: Alice logs in as alice and others see alice``() =
        let w, _ = this.User "watch"
        let c = this.Connect()
        Assert.That(c.Command "LOGIN Alice password123", Is.EqualTo "OK LOGIN alice lobby")
        w.Expect "SYS JOIN lobby alice" |> ignore
        c.Send "hi from Alice"
        let _, _, from, text = w.ExpectPrefix "MSG lobby " |> Lines.msg
        Assert.That((from, text), Is.EqualTo(("alice", "hi from Alice")))
        let users = Lines.items "USERS" (w.Command "/users")
        Assert.That(users, Does.Contain "alice")
        Assert.That(users, Does.Not.Contain "Alice")

    [<Test>]
    member this.``unknown user and wrong password get the same AUTH_FAILED, and the connection goes on``() =
        let c = this.Connect()
        let wrong = c.Command "LOGIN charlie not-his-password"
        let unknown = c.Command "LOGIN nobody-here some-password"
        Assert.That(wrong, Does.StartWith "ERR AUTH_FAILED ")
        Assert.That(unknown, Is.EqualTo wrong)
        c.Login("charlie", "hello789")

    [<Test>]
    member this.``an unknown user takes the time of a wrong password (bcrypt either way)``() =
        let c, name = this.User "timing"
        c.Send "/quit"
        c.WaitClosed()
        let d = this.Connect()

        let time (line: string) =
            let sw = Stopwatch.StartNew()
            Assert.That(d.Command line, Does.StartWith "ERR AUTH_FAILED ")
            sw.Elapsed.TotalMilliseconds

        // Interleaved, so that both see the same load; the fastest of each is its bcrypt floor
        // (load only adds time). Without a bcrypt, an unknown user would take a ping's time.
        let samples = [
            for i in 1..4 -> time $"LOGIN {name} wrong-password", time $"LOGIN ghost-{i} wrong-password"
        ]

        let wrong = samples |> List.map fst |> List.min
        let unknown = samples |> List.map snd |> List.min
        TestContext.Out.WriteLine($"fastest: unknown user {unknown:F1} ms, wrong password {wrong:F1} ms")
        Assert.That(unknown, Is.GreaterThan(wrong * 0.5), $"unknown user {unknown} ms, wrong password {wrong} ms")

    [<Test>]
    member this.``REGISTER creates the account and logs in; the account works for a later LOGIN``() =
        let name = this.Name "NewUser"
        let c = this.Connect()
        Assert.That(c.Command $"REGISTER {name} {pw}", Is.EqualTo $"OK REGISTER {name.ToLowerInvariant()} lobby")
        Assert.That(c.Command "/quit", Is.EqualTo "OK QUIT")
        c.WaitClosed()
        this.Connect().Login(name.ToUpperInvariant(), pw)

    [<Test>]
    member this.``REGISTER of a taken name is USER_EXISTS, whatever its case``() =
        let _, name = this.User "taken"
        let c = this.Connect()

        for line in
            [
                $"REGISTER {name} {pw}"
                $"REGISTER {name.ToUpperInvariant()} {pw}"
                $"REGISTER ALICE {pw}"
            ] do
            Assert.That(c.Command line, Does.StartWith "ERR USER_EXISTS ", line)

        Assert.That(c.Command "/who", Does.StartWith "ERR NOT_LOGGED_IN ")

    [<Test>]
    member this.``REGISTER asks for --min-password characters; a refused REGISTER creates nothing``() =
        let name = this.Name "short"
        let c = this.Connect()
        Assert.That(c.Command $"REGISTER {name} 123456789", Does.StartWith "ERR BAD_ARGUMENT ")
        Assert.That(c.Command $"REGISTER {name} 1234567890", Is.EqualTo $"OK REGISTER {name} lobby")

    [<Test>]
    member this.``REGISTER counts characters, not UTF-16 code units``() =
        let name = this.Name "emoji"
        let c = this.Connect()
        let nine = String.replicate 9 "\U0001F600" // 9 characters, 18 UTF-16 code units, 36 bytes
        Assert.That(c.Command $"REGISTER {name} {nine}", Does.StartWith "ERR BAD_ARGUMENT ", "9 characters")
        Assert.That(c.Command $"REGISTER {name} {String('\u00e9', 10)}", Is.EqualTo $"OK REGISTER {name} lobby")

    [<Test>]
    member this.``passwords over 72 bytes are refused, never cut; 72 bytes work``() =
        let c = this.Connect()
        let long = this.Name "long"
        let p72 = String('p', 72)
        Assert.That(c.Command $"REGISTER {long} {String('x', 73)}", Does.StartWith "ERR BAD_ARGUMENT ")
        Assert.That(c.Command $"LOGIN alice {String('x', 73)}", Does.StartWith "ERR BAD_ARGUMENT ")
        Assert.That(c.Command $"REGISTER {long} {String('\u00e9', 37)}", Does.StartWith "ERR BAD_ARGUMENT ")
        c.Register(long, p72)
        c.Send "/quit"
        c.WaitClosed()
        let d = this.Connect()
        Assert.That(d.Command $"LOGIN {long} {p72}q", Does.StartWith "ERR BAD_ARGUMENT ")
        Assert.That(d.Command $"LOGIN {long} {String('p', 71)}", Does.StartWith "ERR AUTH_FAILED ")
        d.Login(long, p72)
        let accented = this.Name "accent"
        this.Connect().Register(accented, String('\u00e9', 36))
        this.Connect().Login(accented, String('\u00e9', 36))

    [<Test>]
    member this.``a password is the rest of the line and may contain spaces``() =
        let name = this.Name "spaces"
        let phrase = "correct horse  battery staple"
        this.Connect().Register(name, phrase)
        let c = this.Connect()
        Assert.That(c.Command $"LOGIN {name} correct horse", Does.StartWith "ERR AUTH_FAILED ")
        c.Login(name, phrase)

    [<TestCase("LOGIN")>]
    [<TestCase("LOGIN alice")>]
    [<TestCase("LOGIN alice ")>]
    [<TestCase("LOGIN bad!name password123")>]
    [<TestCase("LOGIN .dot password123")>]
    [<TestCase("LOGIN abcdefghijabcdefghijabcdefghijabc password123")>]
    [<TestCase("REGISTER")>]
    [<TestCase("REGISTER newbie")>]
    [<TestCase("REGISTER -dash pass-word-123")>]
    [<TestCase("REGISTER caf\u00e9 pass-word-123")>]
    member this.``malformed LOGIN and REGISTER are BAD_ARGUMENT``(line: string) =
        let c = this.Connect()
        Assert.That(c.Command line, Does.StartWith "ERR BAD_ARGUMENT ")
        c.Sync()

    [<Test>]
    member this.``a 32-character user name is valid``() =
        let name = "u" + this.Name("").PadLeft(31, '0')
        Assert.That(name.Length, Is.EqualTo 32)
        this.Connect().Register(name, pw)

    [<TestCase("hello everyone")>]
    [<TestCase("//slashed text")>]
    [<TestCase("/join room1")>]
    [<TestCase("/join")>]
    [<TestCase("/leave")>]
    [<TestCase("/rooms")>]
    [<TestCase("/who")>]
    [<TestCase("/users")>]
    [<TestCase("/subscribe alice")>]
    [<TestCase("/unsubscribe alice")>]
    [<TestCase("/subs")>]
    [<TestCase("/publish news")>]
    [<TestCase("/history")>]
    [<TestCase("/history 5")>]
    [<TestCase("/no-such-command")>]
    member this.``before login, anything else is NOT_LOGGED_IN``(line: string) =
        let w, _ = this.User "lobbyist"
        let c = this.Connect()
        Assert.That(c.Command line, Does.StartWith "ERR NOT_LOGGED_IN ")
        w.AssertNotReceived((fun l -> l.StartsWith "MSG " || l.StartsWith "PUB "), "a message from an anonymous client")

    [<Test>]
    member this.``/help, /ping and /quit work before login``() =
        let c = this.Connect()
        Assert.That(c.Command "/help", Is.EqualTo "OK HELP")
        let between = c.Received |> List.tail |> List.takeWhile (fun l -> l <> "OK HELP")
        Assert.That(between, Is.Not.Empty)
        Assert.That(between, Has.All.StartWith "INFO ")
        Assert.That(c.Command "/ping", Is.EqualTo "OK PONG")
        Assert.That(c.Command "/ping tok-1", Is.EqualTo "OK PONG tok-1")
        Assert.That(c.Command "/quit", Is.EqualTo "OK QUIT")
        c.WaitClosed()

    [<Test>]
    member this.``after login, LOGIN and REGISTER are ALREADY_LOGGED_IN and change nothing``() =
        let c, name = this.User "twice"
        let other = this.Name "other"
        Assert.That(c.Command $"LOGIN {name} {pw}", Does.StartWith "ERR ALREADY_LOGGED_IN ")
        Assert.That(c.Command $"REGISTER {other} {pw}", Does.StartWith "ERR ALREADY_LOGGED_IN ")
        Assert.That(Lines.items "WHO" (c.Command "/who"), Does.Contain name)
        this.Connect().Register(other, pw)

    [<Test>]
    member this.``after login: /help is INFO lines then OK HELP; /ping answers with and without token``() =
        let c, _ = this.User "helper"
        c.Sync()
        c.Clear()
        Assert.That(c.Command "/help", Is.EqualTo "OK HELP")
        let lines = c.TakeAll(fun _ -> true)
        Assert.That(lines, Is.Not.Empty)
        Assert.That(lines, Has.All.StartWith "INFO ")
        Assert.That(c.Command "/ping", Is.EqualTo "OK PONG")
        Assert.That(c.Command "/ping some token", Is.EqualTo "OK PONG some token")

    [<Test>]
    member this.``/quit after login: OK QUIT, the connection closes, the room sees SYS LEAVE``() =
        let w, _ = this.User "stay"
        let c, name = this.User "quitter"
        w.Expect $"SYS JOIN lobby {name}" |> ignore
        Assert.That(c.Command "/quit", Is.EqualTo "OK QUIT")
        c.WaitClosed()
        Assert.That(c.Received |> List.last, Is.EqualTo "OK QUIT")
        w.Expect $"SYS LEAVE lobby {name}" |> ignore

    [<TestCase("/frobnicate")>]
    [<TestCase("/joinx room")>]
    member this.``an unknown /word after login is UNKNOWN_COMMAND, and the connection goes on``(line: string) =
        let c, _ = this.User "unknown"
        Assert.That(c.Command line, Does.StartWith "ERR UNKNOWN_COMMAND ")
        c.Sync()
