namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.Security.Cryptography
open System.Text.RegularExpressions
open Expecto
open Chat.Testing

/// Resume tokens over the wire: `/token`, `RESUME`, `/quit` revoking (PROTOCOL.md "Before login").
module Resume =
    let private issued = Regex(@"^OK TOKEN ([A-Za-z0-9_-]{43})$")

    /// `/token`, expecting `OK TOKEN <43 base64url characters>`: the token.
    let token (c: LineClient) =
        let reply = c.Command "/token"
        let m = issued.Match reply

        if not m.Success then
            failtest $"/token: expected OK TOKEN and 43 base64url characters, got '{reply}'\n{c.Describe()}"

        m.Groups[1].Value

    /// A token of the issued form that no server issued.
    let forged () =
        Convert.ToBase64String(RandomNumberGenerator.GetBytes 32).TrimEnd('=').Replace('+', '-').Replace('/', '_')

    /// `RESUME <user> <token>` and its reply.
    let resume (c: LineClient) (user: string) (token: string) = c.Command $"RESUME {user} {token}"

    /// A client on a new connection, logged in by `token`.
    let resumed (this: ServerFixture) (user: string) (token: string) =
        let c = this.Connect $"{user}-resumed"
        Expect.equal (resume c user token) $"OK RESUME {user} lobby" "RESUME with the token"
        c

    /// What a wrong password gets: the answer every failed RESUME must equal.
    let wrongPassword (this: ServerFixture) (user: string) =
        let reply = this.Connect().Command $"LOGIN {user} not-the-password"
        Expect.stringStarts reply "ERR AUTH_FAILED " "a wrong password"
        reply

    /// None of `tokens` appears anywhere in the server's output.
    let hidden (server: ServerProcess) (tokens: string list) =
        for line in server.Output do
            for t in tokens do
                if line.Contains t then
                    failtest $"the server printed a token: {line}"

/// `/token` and `RESUME` on one in-memory server, failures unlimited (their own list has the limits).
module E2eResume =
    open Resume

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eResume" [ "--login-failures"; "0"; "--log-level"; "debug" ] [
            case "/token is OK TOKEN with 43 base64url characters; a second /token gives the same token"
            <| fun (this: ServerFixture) ->
                let a, _ = this.User "tok"
                let t = token a
                Expect.equal (token a) t "the second /token"
                let b, _ = this.User "tok"
                Expect.notEqual (token b) t "another user's token"
                hidden this.Server [ t ]

            case "RESUME on a new connection: OK RESUME <u> lobby, SYS JOIN in the lobby, /token the same"
            <| fun (this: ServerFixture) ->
                let w, _ = this.User "watch"
                let a, an = this.User "res"
                w.Expect $"SYS JOIN lobby {an}" |> ignore
                let t = token a
                a.Disconnect()
                w.Expect $"SYS LEAVE lobby {an}" |> ignore
                let b = this.Connect "second"

                Expect.equal (resume b (an.ToUpperInvariant()) t) $"OK RESUME {an} lobby" "RESUME in upper case"

                w.Expect $"SYS JOIN lobby {an}" |> ignore
                Expect.contains (Lines.items "WHO" (b.Command "/who")) an "the resumed session is in the lobby"
                Expect.equal (b.Command "/token") $"OK TOKEN {t}" "/token in the resumed session"
                b.Send "back again"

                let _, _, from, text =
                    w.ExpectMatch(Lines.isMsgFrom an, "the resumed session's message") |> Lines.msg

                Expect.equal (from, text) (an, "back again") "(from, text)"
                // A dropped connection does not revoke: the token resumes again.
                b.Disconnect()
                w.Expect $"SYS LEAVE lobby {an}" |> ignore
                resumed this an t |> ignore
                w.Expect $"SYS JOIN lobby {an}" |> ignore
                hidden this.Server [ t ]

            case "a wrong token, another user's token and forms that parse get the AUTH_FAILED of a wrong password"
            <| fun (this: ServerFixture) ->
                let a, an = this.User "victim"
                let b, bn = this.User "other"
                let ta, tb = token a, token b
                a.Disconnect()
                b.Disconnect()
                let expected = wrongPassword this an
                let c = this.Connect()

                for t in [ forged (); tb; String('a', 16); String('Z', 256); ta.Substring 1; ta + "x" ] do
                    Expect.equal (resume c an t) expected $"RESUME {an} with a token not its own"

                Expect.equal (resume c "nobody-at-all" ta) expected "RESUME of an unknown user"
                Expect.stringStarts (c.Command "/who") "ERR NOT_LOGGED_IN " "still not logged in"
                // The right ones still work.
                Expect.equal (resume c an ta) $"OK RESUME {an} lobby" "the right token"
                resumed this bn tb |> ignore
                hidden this.Server [ ta; tb ]

            case "/quit revokes the token: RESUME gets AUTH_FAILED, also for a token a resumed session quits"
            <| fun (this: ServerFixture) ->
                let a, an = this.User "quits"
                let t = token a
                Expect.equal (a.Command "/quit") "OK QUIT" "/quit"
                a.WaitClosed()
                let expected = wrongPassword this an
                Expect.equal (resume (this.Connect()) an t) expected "RESUME after /quit"
                // The token a resumed session was let in by is revoked by its /quit too.
                let b, bn = this.User "quits"
                let u = token b
                b.Disconnect()
                let r = resumed this bn u
                Expect.equal (r.Command "/quit") "OK QUIT" "/quit of the resumed session"
                r.WaitClosed()
                Expect.equal (resume (this.Connect()) bn u) (wrongPassword this bn) "RESUME after its /quit"
                this.Connect().Login(bn, ServerFixture.Password)
                hidden this.Server [ t; u ]
            yield!
                cases "a malformed RESUME is BAD_ARGUMENT" [
                    "RESUME"
                    "RESUME somebody"
                    "RESUME somebody "
                    "RESUME somebody short-token"
                    "RESUME somebody 0123456789abcde"
                    "RESUME somebody abcdefghijklmnop+/=="
                    "RESUME somebody abcdefghijklmnop!"
                    "RESUME somebody " + String('a', 257)
                    "RESUME somebody aaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbb"
                    "RESUME bad!name aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                ]
                <| fun (this: ServerFixture) (line: string) ->
                    let c = this.Connect()
                    Expect.stringStarts (c.Command line) "ERR BAD_ARGUMENT " "c.Command line"
                    Expect.stringStarts (c.Command "/who") "ERR NOT_LOGGED_IN " "still not logged in"

            case "RESUME after login is ALREADY_LOGGED_IN and changes nothing"
            <| fun (this: ServerFixture) ->
                let a, an = this.User "twice"
                let t = token a
                let _, bn = this.User "else"

                for line in [ $"RESUME {an} {t}"; $"RESUME {bn} {forged ()}" ] do
                    Expect.stringStarts (a.Command line) "ERR ALREADY_LOGGED_IN " line

                Expect.equal (a.Command "/token") $"OK TOKEN {t}" "the same session and token"
                hidden this.Server [ t ]

            case "force-logout applies to RESUME: the earlier session gets SYS FORCED_LOGOUT and is closed"
            <| fun (this: ServerFixture) ->
                let w, _ = this.User "watch"
                let old, name = this.User "kicked"
                w.Expect $"SYS JOIN lobby {name}" |> ignore
                let t = token old
                resumed this name t |> ignore
                old.Expect Duplicate.forcedLogout |> ignore
                old.WaitClosed()
                w.Expect $"SYS LEAVE lobby {name}" |> ignore
                w.Expect $"SYS JOIN lobby {name}" |> ignore
                Expect.hasLength (Lines.items "USERS" (w.Command "/users") |> List.filter ((=) name)) 1 "online once"
                hidden this.Server [ t ]

            case "the server's output never holds a token: issued, resumed with, refused, revoked"
            <| fun (this: ServerFixture) ->
                let failures () =
                    this.Server.Output
                    |> List.filter (fun l -> l.Contains "resume failed")
                    |> List.length

                let before = failures ()
                let a, an = this.User "secret"
                let t = token a
                a.Disconnect()
                let r = resumed this an t
                let wrong = forged ()
                Expect.stringStarts (resume (this.Connect()) an wrong) "ERR AUTH_FAILED " "a wrong token"
                Expect.equal (r.Command "/quit") "OK QUIT" "/quit"
                r.WaitClosed()
                Expect.stringStarts (resume (this.Connect()) an t) "ERR AUTH_FAILED " "the revoked token"
                // The log lines of those steps are out before the check.
                Poll.until (TimeSpan.FromSeconds 10.0) "the server to log the failed resumes" (fun () ->
                    failures () >= before + 2)

                hidden this.Server [ t; wrong ]
        ]

/// `--duplicate-login reject` applies to RESUME.
module E2eResumeReject =
    open Resume

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eResumeReject" [ "--duplicate-login"; "reject" ] [
            case "RESUME of a user online is DUPLICATE_LOGIN; the earlier session is untouched; later it resumes"
            <| fun (this: ServerFixture) ->
                let w, _ = this.User "watch"
                let old, name = this.User "held"
                w.Expect $"SYS JOIN lobby {name}" |> ignore
                let t = token old
                let second = this.Connect "second"
                Expect.stringStarts (resume second name t) "ERR DUPLICATE_LOGIN " "RESUME while online"
                Expect.stringStarts (second.Command "/who") "ERR NOT_LOGGED_IN " "the refused connection"
                old.AssertNotReceived((fun l -> l.StartsWith "SYS FORCED_LOGOUT"), "a forced logout")
                Expect.equal (old.Command "/token") $"OK TOKEN {t}" "the earlier session goes on"
                old.Disconnect()
                w.Expect $"SYS LEAVE lobby {name}" |> ignore
                Expect.equal (resume second name t) $"OK RESUME {name} lobby" "RESUME once it has gone"
        ]

/// `--token-ttl 1`: a token lets RESUME in for a second after it was issued.
module E2eResumeExpiry =
    open Resume

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eResumeExpiry" [ "--token-ttl"; "1"; "--login-failures"; "0" ] [
            case "a token expires --token-ttl seconds after /token: RESUME becomes AUTH_FAILED"
            <| fun (this: ServerFixture) ->
                let a, name = this.User "brief"
                let clock = Stopwatch.StartNew()
                let t = token a
                a.Disconnect()
                let expected = wrongPassword this name
                let mutable refusedAt = TimeSpan.Zero

                // Until it expires, each attempt logs in (and is dropped, which does not revoke).
                Poll.until (TimeSpan.FromSeconds 15.0) "the token to expire" (fun () ->
                    let c = this.Connect "attempt"
                    let reply = resume c name t

                    if reply = $"OK RESUME {name} lobby" then
                        c.Disconnect()
                        false
                    else
                        Expect.equal reply expected "an expired token"
                        refusedAt <- clock.Elapsed
                        true)

                Expect.isGreaterThan refusedAt.TotalSeconds 0.9 "refused only after the TTL"
                hidden this.Server [ t ]
        ]

/// `--login-failures`: failed RESUMEs count as failed logins.
module E2eResumeLimits =
    open Resume

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eResumeLimits" [ "--login-failures"; "3" ] [
            case "past --login-failures wrong RESUMEs, even the right token (and password) is RATE_LIMITED"
            <| fun (this: ServerFixture) ->
                let a, name = this.User "brute"
                let t = token a
                a.Disconnect()
                let c = this.Connect "guesser"

                for _ in 1..3 do
                    Expect.stringStarts (resume c name (forged ())) "ERR AUTH_FAILED " "a guessed token"

                Expect.stringStarts (resume c name t) "ERR RATE_LIMITED " "the right token"
                Expect.stringStarts (resume (this.Connect()) name t) "ERR RATE_LIMITED " "on another connection"

                Expect.stringStarts
                    (this.Connect().Command $"LOGIN {name} {ServerFixture.Password}")
                    "ERR RATE_LIMITED "
                    "LOGIN with the right password"

                // The limit is the user's: another account resumes.
                let b, bn = this.User "bystander"
                let u = token b
                b.Disconnect()
                resumed this bn u |> ignore

            case "failed LOGINs and failed RESUMEs add up"
            <| fun (this: ServerFixture) ->
                let a, name = this.User "mixed"
                let t = token a
                a.Disconnect()
                let c = this.Connect "guesser"

                for line in [ $"LOGIN {name} wrong-password"; $"LOGIN {name} wrong-again" ] do
                    Expect.stringStarts (c.Command line) "ERR AUTH_FAILED " line

                Expect.stringStarts (resume c name (forged ())) "ERR AUTH_FAILED " "a guessed token"
                Expect.stringStarts (resume c name t) "ERR RATE_LIMITED " "the right token"
        ]
