namespace Chat.Server.Tests

open Expecto
open Chat.Testing

/// A second login of a logged-in user (PROTOCOL.md "Duplicate login").
module Duplicate =
    let forcedLogout = "SYS FORCED_LOGOUT Logged in from another location."

    let about (user: string) (l: string) =
        l.StartsWith "SYS " && l.EndsWith $" {user}"

/// `--duplicate-login force-logout` (the default): the earlier session goes, the new one stays.
module E2eForceLogout =
    [<Tests>]
    let tests =
        ServerSuite.tests "E2eForceLogout" [ "--duplicate-login"; "force-logout" ] [
            case "the earlier session gets SYS FORCED_LOGOUT and is closed; the new login succeeds"
            <| fun (this: ServerFixture) ->

                let room = this.Name "dup"
                let old, name = this.UserIn("x", room)
                let roommate, _ = this.UserIn("mate", room)
                let watcher, _ = this.User "watch"
                let fresh = this.Connect "fresh"

                Expect.equal
                    (fresh.Command $"LOGIN {name} {ServerFixture.Password}")
                    $"OK LOGIN {name} lobby"
                    "fresh.Command $'LOGIN {name} {ServerFixture.Password}'"

                old.Expect Duplicate.forcedLogout |> ignore
                old.WaitClosed()
                Expect.equal (old.Received |> List.last) Duplicate.forcedLogout "nothing after FORCED_LOGOUT"
                roommate.Expect $"SYS LEAVE {room} {name}" |> ignore
                watcher.Expect $"SYS JOIN lobby {name}" |> ignore
                // Once the old connection is gone, presence is still that of the new session, once.
                let users = Lines.items "USERS" (watcher.Command "/users")
                Expect.hasLength (users |> List.filter ((=) name)) 1 "users |> List.filter ((=) name)"

                Expect.hasLength
                    (Lines.items "WHO" (watcher.Command "/who") |> List.filter ((=) name))
                    1
                    "Lines.items 'WHO' (watcher.Command '/who') |> List.filter ((=) name)"

                Expect.notContains
                    (Lines.items "WHO" (roommate.Command "/who"))
                    name
                    "Lines.items 'WHO' (roommate.Command '/who')"

                watcher.AssertNotReceived(
                    (fun l -> l = $"SYS LEAVE lobby {name}"),
                    "a LEAVE for the session that stayed"
                )

                roommate.AssertNotReceived(
                    (fun l -> l.StartsWith "SYS " && l.Contains name && l <> $"SYS LEAVE {room} {name}"),
                    "other events about the user"
                )

                fresh.Send "still here"

                let _, _, from, text =
                    watcher.ExpectMatch(Lines.isMsgFrom name, "the new session's message")
                    |> Lines.msg

                Expect.equal (from, text) (name, "still here") "(from, text)"

            case "in the lobby, the others see SYS LEAVE then SYS JOIN"
            <| fun (this: ServerFixture) ->
                let watcher, _ = this.User "watch"
                let old, name = this.User "x"
                watcher.Expect $"SYS JOIN lobby {name}" |> ignore
                let fresh = this.Connect "fresh"
                fresh.Login(name.ToUpperInvariant(), ServerFixture.Password)
                old.Expect Duplicate.forcedLogout |> ignore
                old.WaitClosed()
                watcher.Expect $"SYS JOIN lobby {name}" |> ignore
                watcher.Sync()
                let events = watcher.Received |> List.filter (Duplicate.about name)

                Expect.equal
                    events
                    [
                        $"SYS JOIN lobby {name}"
                        $"SYS LEAVE lobby {name}"
                        $"SYS JOIN lobby {name}"
                    ]
                    "events"

                fresh.AssertNotReceived(Duplicate.about name, "events about itself")

            case "each new login replaces the one before"
            <| fun (this: ServerFixture) ->
                let first, name = this.User "x"
                let second = this.Connect "second"
                second.Login(name, ServerFixture.Password)
                first.Expect Duplicate.forcedLogout |> ignore
                let third = this.Connect "third"
                third.Login(name, ServerFixture.Password)
                second.Expect Duplicate.forcedLogout |> ignore
                second.WaitClosed()
                first.WaitClosed()

                Expect.hasLength
                    (Lines.items "USERS" (third.Command "/users") |> List.filter ((=) name))
                    1
                    "Lines.items 'USERS' (third.Command '/users') |> List.filter ((=) name)"
        ]

/// `--duplicate-login reject`: the new login is refused, the earlier session untouched.
module E2eRejectDuplicate =
    [<Tests>]
    let tests =
        ServerSuite.tests "E2eRejectDuplicate" [ "--duplicate-login"; "reject" ] [
            case "the new login gets ERR DUPLICATE_LOGIN; the earlier session is untouched"
            <| fun (this: ServerFixture) ->

                let room = this.Name "dup"
                let old, name = this.UserIn("x", room)
                let roommate, _ = this.UserIn("mate", room)
                let second = this.Connect "second"

                Expect.stringStarts
                    (second.Command $"LOGIN {name} {ServerFixture.Password}")
                    "ERR DUPLICATE_LOGIN "
                    "second.Command $'LOGIN {name} {ServerFixture.Password}'"

                Expect.stringStarts
                    (second.Command "/who")
                    "ERR NOT_LOGGED_IN "
                    "the refused connection is not logged in"

                old.Send "still mine"

                roommate.ExpectMatch((fun l -> Lines.isMsgFrom name l && l.EndsWith " still mine"), "the message")
                |> ignore

                old.AssertNotReceived((fun l -> l.StartsWith "SYS FORCED_LOGOUT"), "a forced logout")
                roommate.AssertNotReceived(Duplicate.about name, "presence events about the user")
                Expect.contains (Lines.items "WHO" (old.Command "/who")) name "Lines.items 'WHO' (old.Command '/who')"
                let o, other = this.UserIn("other", room)
                Expect.equal (o.Command "/quit") "OK QUIT" "o.Command '/quit'"
                roommate.Expect $"SYS LEAVE {room} {other}" |> ignore

                Expect.equal
                    (second.Command $"LOGIN {other} {ServerFixture.Password}")
                    $"OK LOGIN {other} lobby"
                    "second.Command $'LOGIN {other} {ServerFixture.Password}'"

            case "once the earlier session has ended, the login succeeds"
            <| fun (this: ServerFixture) ->
                let old, name = this.User "x"
                let w, _ = this.User "w"
                let second = this.Connect "second"

                Expect.stringStarts
                    (second.Command $"LOGIN {name} {ServerFixture.Password}")
                    "ERR DUPLICATE_LOGIN "
                    "second.Command $'LOGIN {name} {ServerFixture.Password}'"

                Expect.equal (old.Command "/quit") "OK QUIT" "old.Command '/quit'"
                w.Expect $"SYS LEAVE lobby {name}" |> ignore
                second.Login(name, ServerFixture.Password)
                w.Expect $"SYS JOIN lobby {name}" |> ignore
        ]
