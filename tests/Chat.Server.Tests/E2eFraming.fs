namespace Chat.Server.Tests

open System
open System.Text
open NUnit.Framework

/// Lines on the wire: terminators, length, encoding, control characters (PROTOCOL.md "Framing").
[<TestFixture>]
type E2eFraming() =
    inherit ServerFixture([ "--max-line"; "64"; "--msg-rate"; "0" ])

    let bytes (s: string) = Encoding.UTF8.GetBytes s

    /// Two members of a new room: the one that sends, and one that listens.
    member this.Pair() =
        let room = this.Name "frame"
        let a, an = this.UserIn("a", room)
        let b, _ = this.UserIn("b", room)
        a, an, b, room

    [<Test>]
    member this.``\r\n ends a line as \n does; the \r is dropped``() =
        let name = this.Name "crlf"
        let c = this.Connect name
        c.SendBytes(bytes $"REGISTER {name} {ServerFixture.Password}\r\n")
        Assert.That(c.NextReply(), Is.EqualTo $"OK REGISTER {name} lobby")
        c.SendBytes(bytes "/ping crlf\r\n")
        Assert.That(c.NextReply(), Is.EqualTo "OK PONG crlf")
        c.SendBytes(bytes "said with crlf\r\n")
        let _, _, _, text = c.ExpectPrefix "MSG lobby " |> Lines.msg
        Assert.That(text, Is.EqualTo "said with crlf")

    [<Test>]
    member this.``empty lines are ignored, before and after login``() =
        let c = this.Connect()
        c.SendBytes(bytes "\n\r\n\n/ping first\n")
        Assert.That(c.NextReply(), Is.EqualTo "OK PONG first")
        let a, _, b, _ = this.Pair()
        a.SendBytes(bytes "\n\r\n\n")
        a.Sync()

        for x in [ c; a ] do
            Assert.That(x.Received |> List.filter (fun l -> l.StartsWith "ERR "), Is.Empty, x.Name)

        b.AssertNotReceived((fun l -> l.StartsWith "MSG "), "a message made of an empty line")

    [<Test>]
    member this.``a line of --max-line bytes is accepted, with or without \r``() =
        let a, _, b, _ = this.Pair()
        let text = String('x', 60) + "-end"
        Assert.That(Encoding.UTF8.GetByteCount text, Is.EqualTo 64)
        a.Send text
        a.SendBytes(bytes (text.Replace("-end", "-crl") + "\r\n"))

        for t in [ text; text.Replace("-end", "-crl") ] do
            let _, _, _, got =
                b.ExpectMatch((fun l -> l.StartsWith "MSG " && l.EndsWith t), t) |> Lines.msg

            Assert.That(got, Is.EqualTo t)

    [<Test>]
    member this.``a longer line is LINE_TOO_LONG, nothing is delivered, and the connection goes on``() =
        let a, an, b, room = this.Pair()
        a.Send(String('y', 65))
        Assert.That(a.NextReply(), Does.StartWith "ERR LINE_TOO_LONG ")
        a.SendBytes(bytes (String('z', 65) + "\r\n"))
        Assert.That(a.NextReply(), Does.StartWith "ERR LINE_TOO_LONG ", "65 bytes before the \\r\\n")
        Assert.That(a.Command "/ping still here", Is.EqualTo "OK PONG still here")
        a.Send "after the long ones"
        b.ExpectMatch(Lines.isMsgFrom an, "the next message") |> Lines.msg |> ignore
        Assert.That(b.Received |> List.filter (fun l -> l.StartsWith $"MSG {room} "), Has.Length.EqualTo 1)

    [<Test>]
    member this.``a very long line sent in pieces gets one LINE_TOO_LONG and is skipped to its end``() =
        let a, an, b, _ = this.Pair()
        let chunk = bytes (String('w', 10_000))

        for _ in 1..10 do
            a.SendBytes chunk

        a.SendBytes(bytes "tail of the long line\nshort one\n")

        let _, _, _, text =
            b.ExpectMatch(Lines.isMsgFrom an, "the line after the long one") |> Lines.msg

        Assert.That(text, Is.EqualTo "short one")
        a.Sync()
        Assert.That(a.Received |> List.filter (fun l -> l.StartsWith "ERR "), Has.Length.EqualTo 1)
        Assert.That(a.Received |> List.find (fun l -> l.StartsWith "ERR "), Does.StartWith "ERR LINE_TOO_LONG ")

    [<Test>]
    member this.``LINE_TOO_LONG before login too; LOGIN works after``() =
        let _, name = this.User "early"
        let c = this.Connect()
        c.Send("LOGIN " + String('n', 70) + " password")
        Assert.That(c.NextReply(), Does.StartWith "ERR LINE_TOO_LONG ")
        c.Login(name, ServerFixture.Password)

    [<TestCase("62 61 64 20 ff fe 20 74 65 78 74")>] // "bad \xff\xfe text"
    [<TestCase("63 61 66 c3")>] // truncated sequence
    [<TestCase("c0 af 78")>] // overlong encoding of '/'
    [<TestCase("ed a0 80 78")>] // UTF-16 surrogate
    [<TestCase("2f 6a 6f 69 6e 20 72 ff")>] // "/join r\xff"
    member this.``a line that is not UTF-8 is BAD_ENCODING; nothing is delivered; the connection goes on``
        (hex: string)
        =
        let a, an, b, _ = this.Pair()
        let raw = hex.Split ' ' |> Array.map (fun h -> Convert.ToByte(h, 16))
        a.SendBytes(Array.append raw [| 10uy |])
        Assert.That(a.NextReply(), Does.StartWith "ERR BAD_ENCODING ")
        a.Send "valid again"

        let _, _, _, text =
            b.ExpectMatch(Lines.isMsgFrom an, "the next message") |> Lines.msg

        Assert.That(text, Is.EqualTo "valid again")
        Assert.That(Lines.items "WHO" (a.Command "/who") |> List.head, Does.StartWith "frame")

    [<TestCase("esc ", 0x1b)>]
    [<TestCase("nul ", 0x00)>]
    [<TestCase("bell ", 0x07)>]
    [<TestCase("del ", 0x7f)>]
    [<TestCase("c1 next-line ", 0x85)>]
    [<TestCase("c1 csi ", 0x9b)>]
    [<TestCase("bare cr in the middle ", 0x0d)>]
    [<TestCase("/publish esc ", 0x1b)>]
    [<TestCase("/join ro", 0x01)>]
    member this.``control characters are BAD_ARGUMENT and nothing is delivered``(before: string, code: int) =
        let line = before + string (char code) + "x"
        let a, an, b, room = this.Pair()
        let s, _ = this.User "sub"
        Assert.That(s.Command $"/subscribe {an}", Is.EqualTo $"OK SUBSCRIBE {an}")
        Assert.That(a.Command line, Does.StartWith "ERR BAD_ARGUMENT ")

        for x in [ b; s ] do
            x.AssertNotReceived((fun l -> l.StartsWith "MSG " || l.StartsWith "PUB "), "a line with control characters")

        Assert.That(a.Command "/who", Does.StartWith $"OK WHO {room} ")

    [<Test>]
    member this.``TAB and non-ASCII text are delivered intact``() =
        let a, an, b, _ = this.Pair()
        let text = "col1\tcol2 h\u00e9llo w\u00f6rld \u2713 \U0001F389"
        a.Send text
        let _, _, from, got = b.ExpectMatch(Lines.isMsgFrom an, "the message") |> Lines.msg
        Assert.That((from, got), Is.EqualTo((an, text)))

    [<Test>]
    member this.``lines may arrive together in one write or split across writes, even inside a character``() =
        let c = this.Connect()
        c.SendBytes(bytes "/ping 1\n/ping 2\n/ping 3\n")
        Assert.That([ for _ in 1..3 -> c.NextReply() ], Is.EqualTo(box [ "OK PONG 1"; "OK PONG 2"; "OK PONG 3" ]))
        let split = bytes "/ping \u00e9t\u00e9\n"

        for b in split do
            c.SendBytes [| b |]

        Assert.That(c.NextReply(), Is.EqualTo "OK PONG \u00e9t\u00e9")
