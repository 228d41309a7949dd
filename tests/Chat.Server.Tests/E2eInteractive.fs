namespace Chat.Server.Tests

open System
open Expecto
open Chat.Testing

/// The interactive client driven like a person at a terminal, against a real server: typing while messages
/// arrive, tab completion, a direct conversation, a server restart, leaving; and plain terminals.
module E2eInteractive =
    let private timeout = TimeSpan.FromSeconds 20.0

    let private contains (text: string) (screen: string list) =
        screen |> List.exists (fun l -> l.Contains text)

    let private inputLine (screen: string list) = List.last screen
    let private statusLine (screen: string list) = screen[screen.Length - 2]

    /// alice's client, logged in and with bob among its room's members.
    let private aliceWithBob (f: InteractiveFixture) (env: (string * string) list) =
        let server, _ = f.Servers.Start 0
        let bob = f.Servers.Member(server, "bob", "secret456", "lobby")
        let t = f.Terminal(server, "alice", "password123", env)

        t.WaitFor(
            timeout,
            "alice connected, bob a member",
            fun s -> contains "[connected] alice in #lobby" s && contains "│ bob" s
        )
        |> ignore

        server, bob, t

    [<Tests>]
    let tests =
        Harness.perTest "E2eInteractive" false (fun () -> new InteractiveFixture()) [
            case "half a line typed stays intact while messages arrive; Tab completes a member's name"
            <| fun (f: InteractiveFixture) ->
                let _, bob, t = aliceWithBob f []
                t.Type "I am typing a long sent"

                t.WaitFor(timeout, "the half line", fun s -> inputLine s = "[#lobby] I am typing a long sent")
                |> ignore

                for i in 1..3 do
                    bob.Send $"message {i} from bob"

                let s =
                    t.WaitFor(timeout, "bob's three messages", fun s -> contains "<bob> message 3 from bob" s)

                Expect.isTrue
                    (contains "<bob> message 1 from bob" s && contains "<bob> message 2 from bob" s)
                    "all three"

                Expect.equal (inputLine s) "[#lobby] I am typing a long sent" "the input line intact"
                Expect.isFalse (contains "sent<bob>" s || contains "sent*" s) "nothing printed after the half line"
                t.Press [ "C-u" ]
                t.Type "hi b"
                t.Press [ "Tab" ]

                t.WaitFor(timeout, "bob's name completed", fun s -> inputLine s = "[#lobby] hi bob")
                |> ignore

                t.Type "how are you"
                t.Press [ "Enter" ]

                bob.ExpectMatch((fun l -> l.EndsWith " alice hi bob how are you"), "alice's completed line")
                |> ignore

                t.WaitFor(
                    timeout,
                    "the line sent and shown",
                    fun s -> contains "<alice> hi bob how are you" s && inputLine s = "[#lobby]"
                )
                |> ignore

            case "a direct message: unread beside the room, /query opens its view, what is typed there goes to them"
            <| fun (f: InteractiveFixture) ->
                let _, bob, t = aliceWithBob f []
                bob.Send "/msg alice psst, a secret"

                let s = t.WaitFor(timeout, "an unread direct conversation", contains "│ @bob [1]")
                Expect.isFalse (contains "psst" s) "not in the room's pane"
                t.Type "/query bob"
                t.Press [ "Enter" ]

                let s =
                    t.WaitFor(
                        timeout,
                        "the conversation with bob",
                        fun s -> inputLine s = "[@bob]" && contains "<bob> psst" s
                    )

                Expect.isTrue (contains "│>@bob" s && not (contains "[1]" s)) "in view and read"
                t.Type "back at you"
                t.Press [ "Enter" ]

                bob.ExpectMatch((fun l -> l.StartsWith "DM " && l.EndsWith " alice back at you"), "the DM")
                |> ignore

                t.WaitFor(timeout, "alice's line in the conversation", contains "<alice> back at you")
                |> ignore

            case "PgUp past the top fetches the room's older messages, said before the client came"
            <| fun (f: InteractiveFixture) ->
                let server, _ = f.Servers.Start 0
                let bob = f.Servers.Member(server, "bob", "secret456", "lobby")

                for i in 1..3 do
                    ChatRun.say bob $"earlier {i}" |> ignore

                let t = f.Terminal(server, "alice", "password123")
                let s = t.WaitFor(timeout, "connected", contains "[connected] alice in #lobby")
                Expect.isFalse (contains "earlier 1" s) "not shown before the fetch"
                t.Press [ "PPage" ]

                let s =
                    t.WaitFor(
                        timeout,
                        "the older messages",
                        fun s -> contains "<bob> earlier 1" s && contains "<bob> earlier 3" s
                    )

                Expect.isTrue (contains "-- the beginning of #lobby --" s) "fewer than a page: the beginning"

            case "the server restarted: the status line says reconnecting, then connected; the half line survives"
            <| fun (f: InteractiveFixture) ->
                let server, _, t = aliceWithBob f []
                t.Type "typed before the crash"
                server.Kill()

                if (server.WaitForExit timeout).IsNone then
                    failtest "the server still runs after SIGKILL"

                let s =
                    t.WaitFor(timeout, "the reconnecting status", fun s -> (statusLine s).Contains "[reconnecting in")

                Expect.stringContains (statusLine s) "(attempt " "the attempt counted"
                f.Servers.Start server.Port |> ignore

                let s =
                    t.WaitFor(
                        timeout,
                        "connected again",
                        fun s -> (statusLine s).StartsWith " [connected] alice in #lobby"
                    )

                Expect.equal (inputLine s) "[#lobby] typed before the crash" "the input line intact"
                t.Press [ "C-u" ]
                t.Type "/quit"
                t.Press [ "Enter" ]

                t.WaitFor(timeout, "the client gone, the terminal given back", contains "exit code 0")
                |> ignore

            case "Ctrl-C leaves cleanly; NO_COLOR and a C locale draw plain ASCII"
            <| fun (f: InteractiveFixture) ->
                let server, _ = f.Servers.Start 0
                let bob = f.Servers.Member(server, "bob", "secret456", "lobby")

                let t =
                    f.Terminal(server, "alice", "password123", [ "NO_COLOR", "1"; "LANG", "C"; "LC_ALL", "" ])

                t.WaitFor(timeout, "connected", fun s -> contains "[connected] alice in #lobby" s && contains "| bob" s)
                |> ignore

                bob.Send "caf\u00e9 time"
                let s = t.WaitFor(timeout, "bob's message", contains "<bob> caf? time")
                Expect.all s (fun l -> l |> Seq.forall (fun c -> int c < 128)) "ASCII only"
                let escapes = t.ScreenWithEscapes()
                Expect.isFalse (escapes.Contains "[38;" || escapes.Contains "[31m") "no colour"
                t.Resize(100, 30)

                t.WaitFor(timeout, "redrawn at 100x30", fun s -> s.Length = 30 && (inputLine s).StartsWith "[#lobby]")
                |> ignore

                t.Press [ "C-c" ]

                t.WaitFor(timeout, "the client gone, the terminal given back", contains "exit code 0")
                |> ignore
        ]
