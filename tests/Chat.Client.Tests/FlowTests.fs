/// What the client does with server lines: the token after login, the login again after a reconnect (token,
/// else password), the rejoin and the catch-up, and the user's lines held until then.
module Chat.Client.Tests.FlowTests

open Expecto
open Chat.Domain
open Chat.Client
open Chat.Client.Flow

let private alice = Username.tryCreate "alice"
let private token = String.replicate 43 "T"

/// Feeds raw server lines in order, gathering every action.
let private feed (s: State) (lines: string list) =
    lines
    |> List.fold
        (fun (s, acts) raw ->
            let s, more = onLine s raw (ServerLine.parse raw)
            s, acts @ more)
        (s, [])

let private loggedIn () =
    feed (initial alice) [ "HELLO chat/1 s1 hi"; "OK LOGIN alice lobby"; $"OK TOKEN {token}" ]

/// In #dev, having seen 20-0, then the connection dropped and a new one is up.
let private away () =
    let s, _ = loggedIn ()
    let s, _ = feed s [ "OK JOIN dev"; "MSG dev 20-0 bob before" ]
    reconnected s

[<Tests>]
let tests =
    testList "FlowTests" [
        testCase "first login: shown, /token asked, its reply kept and never shown, then the user goes on" (fun () ->
            let s, acts = loggedIn ()

            Expect.equal
                acts
                [ Show "HELLO chat/1 s1 hi"; Show "OK LOGIN alice lobby"; Send "/token"; Ready ]
                "the actions"

            Expect.equal (s.Token |> Option.map ResumeToken.value) (Some token) "kept"
            Expect.isTrue (resumable s) "resumable")

        testCase "an old server's ERR to /token is not shown either" (fun () ->
            let _, acts =
                feed (initial alice) [ "OK LOGIN alice lobby"; "ERR UNKNOWN_COMMAND /token" ]

            Expect.equal acts [ Show "OK LOGIN alice lobby"; Send "/token"; Ready ] "the actions")

        testCase "a refused first login is shown and ends the session" (fun () ->
            let s, acts =
                feed (initial alice) [ "ERR AUTH_FAILED invalid username or password" ]

            Expect.equal acts [ Show "ERR AUTH_FAILED invalid username or password"; Refused ] "the actions"
            Expect.isFalse (resumable s) "never logged in")

        testCase "without --user nothing is sent by the client and nothing is resumable" (fun () ->
            let s, acts =
                feed (initial None) [ "OK LOGIN alice lobby"; "MSG lobby 1-0 alice hi" ]

            Expect.equal acts [ Show "OK LOGIN alice lobby"; Show "MSG lobby 1-0 alice hi" ] "shown only"
            Expect.isFalse (resumable s) "no --user")

        testCase "a room message seen twice is shown once" (fun () ->
            let s, _ = loggedIn ()

            let _, acts =
                feed s [ "MSG lobby 5-0 bob a"; "MSG lobby 5-0 bob a"; "MSG lobby 4-9 bob old" ]

            Expect.equal acts [ Show "MSG lobby 5-0 bob a" ] "once")

        testCase "reconnect: RESUME with the token, rejoin, catch up in pages, then the user goes on" (fun () ->
            let s, acts = away ()
            Expect.equal acts [ Send $"RESUME alice {token}" ] "resume"

            let s, acts =
                feed s [ "HELLO chat/1 s2 hi"; "OK RESUME alice lobby"; "OK JOIN dev" ]

            Expect.equal
                acts
                [
                    Show "HELLO chat/1 s2 hi"
                    Show "OK RESUME alice lobby"
                    Send "/join dev"
                    Send "/history after 20-0 100"
                ]
                "rejoin, then the first page"

            let page = [ for n in 21..120 -> $"HIST dev {n}-0 bob 1 m{n}" ]

            let s, acts =
                feed s ("MSG dev 300-0 bob live" :: "SYS JOIN dev carol" :: page @ [ "OK HISTORY 100" ])

            Expect.equal acts [ Show "SYS JOIN dev carol"; Send "/history after 120-0 100" ] "held, next page"

            let s, acts =
                feed s [ "HIST dev 120-0 bob 1 m120"; "HIST dev 121-0 bob 1 m121"; "OK HISTORY 2" ]

            Expect.equal
                acts
                [
                    yield! page |> List.map Show
                    Show "HIST dev 121-0 bob 1 m121"
                    Show "MSG dev 300-0 bob live"
                    Note "* caught up 102 messages"
                    Ready
                ]
                "each once, in order"

            Expect.equal s.Place.Last (StreamPos.tryParse "300-0") "the last id"
            let _, acts = feed s [ "MSG dev 300-0 bob live" ]
            Expect.isEmpty acts "not again")

        testCase "an expired token falls back to the password, and a new token is asked" (fun () ->
            let s, _ = away ()
            let s, acts = feed s [ "ERR AUTH_FAILED invalid or expired token" ]

            Expect.equal
                acts
                [
                    Note "* the session token was not accepted; logging in with the password"
                    SendPasswordLogin
                ]
                "fallback"

            Expect.isNone s.Token "forgotten"

            let _, acts =
                feed s [ "OK LOGIN alice lobby"; "OK TOKEN " + String.replicate 43 "U" ]

            Expect.equal acts [ Show "OK LOGIN alice lobby"; Send "/token"; Send "/join dev" ] "token, then rejoin")

        testCase "a transient refusal on reconnect retries; a refused password ends" (fun () ->
            let s, _ = away ()
            let _, acts = feed s [ "ERR RATE_LIMITED too many failed logins" ]
            Expect.equal acts [ Retry "RATE_LIMITED: too many failed logins" ] "retry"
            let s, _ = feed s [ "ERR AUTH_FAILED no" ]
            let _, acts = feed s [ "ERR AUTH_FAILED invalid username or password" ]
            Expect.equal acts [ Show "ERR AUTH_FAILED invalid username or password"; Refused ] "refused")

        testCase "in the lobby with nothing seen: logged in again, nothing to fetch" (fun () ->
            let s, _ = loggedIn ()
            let s, _ = reconnected s
            let _, acts = feed s [ "OK RESUME alice lobby" ]
            Expect.equal acts [ Show "OK RESUME alice lobby"; Ready ] "ready at once")

        testCase "a room that cannot be rejoined leaves the user in the lobby" (fun () ->
            let s, _ = away ()
            let s, _ = feed s [ "OK RESUME alice lobby" ]
            let s, acts = feed s [ "ERR UNAVAILABLE shared state unreachable" ]
            Expect.equal acts [ Note "* could not rejoin #dev: shared state unreachable"; Ready ] "lobby"
            Expect.equal s.Place (Catchup.enter RoomName.lobby) "the place")
    ]
