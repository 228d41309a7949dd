namespace Chat.Server.Tests

open Expecto
open Chat.Testing
open ChatRun

/// The CLI client across a server that is killed (SIGKILL) and started again on the same port and certificate:
/// it reconnects by itself, logs in again (by token, else by password), goes back to its room and shows once what
/// it missed; and the endings after which it does not come back.
module E2eClientRestart =
    /// alice's client logged in on `server` and in `room`.
    let private inRoom (f: RestartFixture) server (args: string list) room =
        let chat = f.Chat(server, args)
        waitOut chat "OK LOGIN" ((=) "OK LOGIN alice lobby") |> ignore
        chat.WriteLine $"/join {room}"
        waitOut chat "OK JOIN" ((=) $"OK JOIN {room}") |> ignore
        chat

    let private kill (server: ServerProcess) =
        server.Kill()

        if (server.WaitForExit timeout).IsNone then
            failtest "the server still runs after SIGKILL"

    [<Tests>]
    let tests =
        Harness.perTest "E2eClientRestart" false (fun () -> new RestartFixture()) [
            case "with Redis: back by RESUME, in its room, the messages missed shown once, caught up 3"
            <| fun (f: RestartFixture) ->
                f.UseRedis()
                let first, _ = f.Start 0
                let other, _ = f.Start 0
                let bob = f.Member(other, "bob", "secret456", "dev")
                let chat = inRoom f first [] "dev"
                let before = say bob "before the crash"
                waitCount chat 1 $"MSG dev {before} bob before the crash"

                kill first

                waitErr chat "a reconnect attempt" (fun l -> l.Contains "reconnecting in")
                |> ignore

                let missed = [ for i in 1..3 -> say bob $"missed {i}" ]
                let again, metrics = f.Start first.Port

                waitErr chat "caught up" (fun l -> l.StartsWith "* caught up") |> ignore
                Expect.contains chat.StdErr "* caught up 3 messages" "the catch-up counts the 3 missed"
                let out = chat.StdOut
                Expect.contains out "OK RESUME alice lobby" "logged in again by token"
                // The rejoin is the client's own: its OK JOIN is not shown; the live MSG below shows it is back in #dev.
                Expect.hasLength (out |> List.filter ((=) "OK JOIN dev")) 1 "the rejoin's reply not shown"

                let shown =
                    out |> List.filter (fun l -> l.StartsWith "HIST dev " && l.Contains " bob ")

                Expect.hasLength shown 3 $"each missed message once: {shown}"

                for id, line in List.zip missed shown do
                    let _, hid, _, _, text = Lines.hist line
                    Expect.equal hid id $"in order: {text}"

                Expect.hasLength (out |> List.filter (fun l -> l.EndsWith " before the crash")) 1 "not shown again"
                Expect.equal (logins metrics "resume" "ok") 1.0 "the restarted server saw a RESUME"
                Expect.equal (logins metrics "login" "ok") 0.0 "and no password login"
                Expect.isFalse (again.Output |> List.exists (fun l -> l.Contains "resume failed")) "no failed RESUME"
                Expect.isNonEmpty (reconnects chat) "status lines on stderr"

                let after = say bob "after the catch-up"
                waitCount chat 1 $"MSG dev {after} bob after the catch-up"
                chat.WriteLine "alice is back"

                bob.ExpectMatch((fun l -> l.EndsWith " alice alice is back"), "alice's line after the reconnect")
                |> ignore

                chat.CloseInput()
                Expect.equal (exitCode chat) 0 "end of input"
                showsNoToken chat

            case "in memory: the token is unknown after the restart, so it logs in with the password and goes on"
            <| fun (f: RestartFixture) ->
                let first, _ = f.Start 0
                let chat = inRoom f first [] "dev"
                chat.WriteLine "hello"

                waitOut chat "its own MSG" (fun l -> l.StartsWith "MSG dev " && l.EndsWith " alice hello")
                |> ignore

                kill first

                waitErr chat "a reconnect attempt" (fun l -> l.Contains "reconnecting in")
                |> ignore

                let again, metrics = f.Start first.Port

                waitErr chat "caught up" (fun l -> l.StartsWith "* caught up") |> ignore
                let err = chat.StdErr
                Expect.contains err "* the session token was not accepted; logging in with the password" "the fallback"
                Expect.contains err "* caught up 0 messages" "an empty history after the restart"
                Expect.hasLength (chat.StdOut |> List.filter ((=) "OK LOGIN alice lobby")) 2 "logged in again"
                Expect.hasLength (chat.StdOut |> List.filter ((=) "OK JOIN dev")) 1 "the rejoin's reply not shown"
                Expect.isFalse (chat.StdOut |> List.exists (fun l -> l.StartsWith "ERR ")) "the refusal is not shown"
                Expect.equal (logins metrics "resume" "auth_failed") 1.0 "one RESUME refused"
                Expect.equal (logins metrics "login" "ok") 1.0 "then one password login"
                Expect.isTrue (again.Output |> List.exists (fun l -> l.Contains "resume failed")) "logged as such"

                let bob = f.Member(again, "bob", "secret456", "dev")
                Expect.contains (Lines.items "WHO" (bob.Command "/who")) "alice" "alice back in #dev"
                chat.WriteLine "still here"

                bob.ExpectMatch((fun l -> l.EndsWith " alice still here"), "alice's line after the fallback")
                |> ignore

                chat.WriteLine "/quit"
                Expect.equal (exitCode chat) 0 "/quit"
                showsNoToken chat

            case "/quit ends it with 0 and no reconnect, stdin still open"
            <| fun (f: RestartFixture) ->
                let server, _ = f.Start 0
                let chat = inRoom f server [] "dev"
                chat.WriteLine "/quit"
                Expect.equal (exitCode chat) 0 (chat.OutputText())
                Expect.equal (List.last chat.StdOut) "OK QUIT" "the last line"
                Expect.isEmpty (reconnects chat) "no reconnect"

            case "SYS FORCED_LOGOUT ends it with 3 and no reconnect: the other session stays"
            <| fun (f: RestartFixture) ->
                let server, metrics = f.Start 0
                let chat = inRoom f server [] "dev"
                let other = f.Member(server, "alice", "password123", "elsewhere")
                Expect.equal (exitCode chat) 3 (chat.OutputText())

                Expect.isTrue
                    (chat.StdOut |> List.exists (fun l -> l.StartsWith "SYS FORCED_LOGOUT "))
                    "the server's word is shown"

                Expect.isEmpty (reconnects chat) "no reconnect"
                Expect.equal (other.Command "/ping still") "OK PONG still" "the new session is not logged out"
                Expect.equal (logins metrics "login" "ok") 2.0 "no login but the two"

            case "--no-reconnect: the server killed, it exits and does not come back"
            <| fun (f: RestartFixture) ->
                let server, _ = f.Start 0
                let chat = inRoom f server [ "--no-reconnect" ] "dev"
                kill server
                let code = exitCode chat
                Expect.isEmpty (reconnects chat) "no reconnect"
                Expect.equal code 3 (chat.OutputText())

                Expect.isTrue
                    (chat.StdErr |> List.exists (fun l -> l.StartsWith "connection closed by "))
                    "an unannounced close"
        ]
