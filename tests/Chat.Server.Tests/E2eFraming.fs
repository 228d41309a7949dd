namespace Chat.Server.Tests

open System
open System.Text
open Expecto
open Chat.Testing

/// Lines on the wire: terminators, length, encoding, control characters (PROTOCOL.md "Framing").
module E2eFraming =
    let private bytes (s: string) = Encoding.UTF8.GetBytes s

    /// Two members of a new room: the one that sends, and one that listens.
    let private pair (this: ServerFixture) =
        let room = this.Name "frame"
        let a, an = this.UserIn("a", room)
        let b, _ = this.UserIn("b", room)
        a, an, b, room

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eFraming" [ "--max-line"; "64"; "--msg-rate"; "0" ] [
            case "\\r\\n ends a line as \\n does; the \\r is dropped"
            <| fun (this: ServerFixture) ->
                let name = this.Name "crlf"
                let c = this.Connect name
                c.SendBytes(bytes $"REGISTER {name} {ServerFixture.Password}\r\n")
                Expect.equal (c.NextReply()) $"OK REGISTER {name} lobby" "c.NextReply()"
                c.SendBytes(bytes "/ping crlf\r\n")
                Expect.equal (c.NextReply()) "OK PONG crlf" "c.NextReply()"
                c.SendBytes(bytes "said with crlf\r\n")
                let _, _, _, text = c.ExpectPrefix "MSG lobby " |> Lines.msg
                Expect.equal text "said with crlf" "text"

            case "empty lines are ignored, before and after login"
            <| fun (this: ServerFixture) ->
                let c = this.Connect()
                c.SendBytes(bytes "\n\r\n\n/ping first\n")
                Expect.equal (c.NextReply()) "OK PONG first" "c.NextReply()"
                let a, _, b, _ = pair this
                a.SendBytes(bytes "\n\r\n\n")
                a.Sync()

                for x in [ c; a ] do
                    Expect.isEmpty (x.Received |> List.filter (fun l -> l.StartsWith "ERR ")) x.Name

                b.AssertNotReceived((fun l -> l.StartsWith "MSG "), "a message made of an empty line")

            case "a line of --max-line bytes is accepted, with or without \\r"
            <| fun (this: ServerFixture) ->
                let a, _, b, _ = pair this
                let text = String('x', 60) + "-end"
                Expect.equal (Encoding.UTF8.GetByteCount text) 64 "Encoding.UTF8.GetByteCount text"
                a.Send text
                a.SendBytes(bytes (text.Replace("-end", "-crl") + "\r\n"))

                for t in [ text; text.Replace("-end", "-crl") ] do
                    let _, _, _, got =
                        b.ExpectMatch((fun l -> l.StartsWith "MSG " && l.EndsWith t), t) |> Lines.msg

                    Expect.equal got t "got"

            case "a longer line is LINE_TOO_LONG, nothing is delivered, and the connection goes on"
            <| fun (this: ServerFixture) ->
                let a, an, b, room = pair this
                a.Send(String('y', 65))
                Expect.stringStarts (a.NextReply()) "ERR LINE_TOO_LONG " "a.NextReply()"
                a.SendBytes(bytes (String('z', 65) + "\r\n"))
                Expect.stringStarts (a.NextReply()) "ERR LINE_TOO_LONG " "65 bytes before the \\r\\n"
                Expect.equal (a.Command "/ping still here") "OK PONG still here" "a.Command '/ping still here'"
                a.Send "after the long ones"
                b.ExpectMatch(Lines.isMsgFrom an, "the next message") |> Lines.msg |> ignore

                Expect.hasLength
                    (b.Received |> List.filter (fun l -> l.StartsWith $"MSG {room} "))
                    1
                    "b.Received |> List.filter (fun l -> l.StartsWith $'MSG {room} ')"

            case "a very long line sent in pieces gets one LINE_TOO_LONG and is skipped to its end"
            <| fun (this: ServerFixture) ->
                let a, an, b, _ = pair this
                let chunk = bytes (String('w', 10_000))

                for _ in 1..10 do
                    a.SendBytes chunk

                a.SendBytes(bytes "tail of the long line\nshort one\n")

                let _, _, _, text =
                    b.ExpectMatch(Lines.isMsgFrom an, "the line after the long one") |> Lines.msg

                Expect.equal text "short one" "text"
                a.Sync()

                Expect.hasLength
                    (a.Received |> List.filter (fun l -> l.StartsWith "ERR "))
                    1
                    "a.Received |> List.filter (fun l -> l.StartsWith 'ERR ')"

                Expect.stringStarts
                    (a.Received |> List.find (fun l -> l.StartsWith "ERR "))
                    "ERR LINE_TOO_LONG "
                    "a.Received |> List.find (fun l -> l.StartsWith 'ERR ')"

            case "LINE_TOO_LONG before login too; LOGIN works after"
            <| fun (this: ServerFixture) ->
                let _, name = this.User "early"
                let c = this.Connect()
                c.Send("LOGIN " + String('n', 70) + " password")
                Expect.stringStarts (c.NextReply()) "ERR LINE_TOO_LONG " "c.NextReply()"
                c.Login(name, ServerFixture.Password)
            yield!
                cases "a line that is not UTF-8 is BAD_ENCODING; nothing is delivered; the connection goes on" [
                    "62 61 64 20 ff fe 20 74 65 78 74" // "bad \xff\xfe text"
                    "63 61 66 c3" // truncated sequence
                    "c0 af 78" // overlong encoding of '/'
                    "ed a0 80 78" // UTF-16 surrogate
                    "2f 6a 6f 69 6e 20 72 ff" // "/join r\xff"
                ]
                <| fun (this: ServerFixture) (hex: string) ->
                    let a, an, b, _ = pair this
                    let raw = hex.Split ' ' |> Array.map (fun h -> Convert.ToByte(h, 16))
                    a.SendBytes(Array.append raw [| 10uy |])
                    Expect.stringStarts (a.NextReply()) "ERR BAD_ENCODING " "a.NextReply()"
                    a.Send "valid again"

                    let _, _, _, text =
                        b.ExpectMatch(Lines.isMsgFrom an, "the next message") |> Lines.msg

                    Expect.equal text "valid again" "text"

                    Expect.stringStarts
                        (Lines.items "WHO" (a.Command "/who") |> List.head)
                        "frame"
                        "Lines.items 'WHO' (a.Command '/who') |> List.head"
            yield!
                cases "control characters are BAD_ARGUMENT and nothing is delivered" [
                    ("esc ", 0x1b)
                    ("nul ", 0x00)
                    ("bell ", 0x07)
                    ("del ", 0x7f)
                    ("c1 next-line ", 0x85)
                    ("c1 csi ", 0x9b)
                    ("bare cr in the middle ", 0x0d)
                    ("/publish esc ", 0x1b)
                    ("/join ro", 0x01)
                ]
                <| fun (this: ServerFixture) (before: string, code: int) ->
                    let line = before + string (char code) + "x"
                    let a, an, b, room = pair this
                    let s, _ = this.User "sub"
                    Expect.equal (s.Command $"/subscribe {an}") $"OK SUBSCRIBE {an}" "s.Command $'/subscribe {an}'"
                    Expect.stringStarts (a.Command line) "ERR BAD_ARGUMENT " "a.Command line"

                    for x in [ b; s ] do
                        x.AssertNotReceived(
                            (fun l -> l.StartsWith "MSG " || l.StartsWith "PUB "),
                            "a line with control characters"
                        )

                    Expect.stringStarts (a.Command "/who") $"OK WHO {room} " "a.Command '/who'"

            case "TAB and non-ASCII text are delivered intact"
            <| fun (this: ServerFixture) ->
                let a, an, b, _ = pair this
                let text = "col1\tcol2 h\u00e9llo w\u00f6rld \u2713 \U0001F389"
                a.Send text
                let _, _, from, got = b.ExpectMatch(Lines.isMsgFrom an, "the message") |> Lines.msg
                Expect.equal (from, got) (an, text) "(from, got)"

            case "lines may arrive together in one write or split across writes, even inside a character"
            <| fun (this: ServerFixture) ->
                let c = this.Connect()
                c.SendBytes(bytes "/ping 1\n/ping 2\n/ping 3\n")

                Expect.equal
                    ([ for _ in 1..3 -> c.NextReply() ])
                    ([ "OK PONG 1"; "OK PONG 2"; "OK PONG 3" ])
                    "[ for _ in 1..3 -> c.NextReply() ]"

                let split = bytes "/ping \u00e9t\u00e9\n"

                for b in split do
                    c.SendBytes [| b |]

                Expect.equal (c.NextReply()) "OK PONG \u00e9t\u00e9" "c.NextReply()"
        ]
