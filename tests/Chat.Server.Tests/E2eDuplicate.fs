namespace Chat.Server.Tests

open NUnit.Framework

/// A second login of a logged-in user (PROTOCOL.md "Duplicate login").
module Duplicate =
    let forcedLogout = "SYS FORCED_LOGOUT Logged in from another location."

    let about (user: string) (l: string) =
        l.StartsWith "SYS " && l.EndsWith $" {user}"

/// `--duplicate-login force-logout` (the default): the earlier session goes, the new one stays.
[<TestFixture>]
type E2eForceLogout() =
    inherit ServerFixture([ "--duplicate-login"; "force-logout" ])

    [<Test>]
    member this.``the earlier session gets SYS FORCED_LOGOUT and is closed; the new login succeeds``() =
        let room = this.Name "dup"
        let old, name = this.UserIn("x", room)
        let roommate, _ = this.UserIn("mate", room)
        let watcher, _ = this.User "watch"
        let fresh = this.Connect "fresh"
        Assert.That(fresh.Command $"LOGIN {name} {ServerFixture.Password}", Is.EqualTo $"OK LOGIN {name} lobby")
        old.Expect Duplicate.forcedLogout |> ignore
        old.WaitClosed()
        Assert.That(old.Received |> List.last, Is.EqualTo Duplicate.forcedLogout, "nothing after FORCED_LOGOUT")
        roommate.Expect $"SYS LEAVE {room} {name}" |> ignore
        watcher.Expect $"SYS JOIN lobby {name}" |> ignore
        // Once the old connection is gone, presence is still that of the new session, once.
        let users = Lines.items "USERS" (watcher.Command "/users")
        Assert.That(users |> List.filter ((=) name), Has.Length.EqualTo 1)
        Assert.That(Lines.items "WHO" (watcher.Command "/who") |> List.filter ((=) name), Has.Length.EqualTo 1)
        Assert.That(Lines.items "WHO" (roommate.Command "/who"), Does.Not.Contain name)
        watcher.AssertNotReceived((fun l -> l = $"SYS LEAVE lobby {name}"), "a LEAVE for the session that stayed")

        roommate.AssertNotReceived(
            (fun l -> l.StartsWith "SYS " && l.Contains name && l <> $"SYS LEAVE {room} {name}"),
            "other events about the user"
        )

        fresh.Send "still here"

        let _, _, from, text =
            watcher.ExpectMatch(Lines.isMsgFrom name, "the new session's message")
            |> Lines.msg

        Assert.That((from, text), Is.EqualTo((name, "still here")))

    [<Test>]
    member this.``in the lobby, the others see SYS LEAVE then SYS JOIN``() =
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

        Assert.That(
            events,
            Is.EqualTo(
                box [
                    $"SYS JOIN lobby {name}"
                    $"SYS LEAVE lobby {name}"
                    $"SYS JOIN lobby {name}"
                ]
            )
        )

        fresh.AssertNotReceived(Duplicate.about name, "events about itself")

    [<Test>]
    member this.``each new login replaces the one before``() =
        let first, name = this.User "x"
        let second = this.Connect "second"
        second.Login(name, ServerFixture.Password)
        first.Expect Duplicate.forcedLogout |> ignore
        let third = this.Connect "third"
        third.Login(name, ServerFixture.Password)
        second.Expect Duplicate.forcedLogout |> ignore
        second.WaitClosed()
        first.WaitClosed()
        Assert.That(Lines.items "USERS" (third.Command "/users") |> List.filter ((=) name), Has.Length.EqualTo 1)

/// `--duplicate-login reject`: the new login is refused, the earlier session untouched.
[<TestFixture>]
type E2eRejectDuplicate() =
    inherit ServerFixture([ "--duplicate-login"; "reject" ])

    [<Test>]
    member this.``the new login gets ERR DUPLICATE_LOGIN; the earlier session is untouched``() =
        let room = this.Name "dup"
        let old, name = this.UserIn("x", room)
        let roommate, _ = this.UserIn("mate", room)
        let second = this.Connect "second"
        Assert.That(second.Command $"LOGIN {name} {ServerFixture.Password}", Does.StartWith "ERR DUPLICATE_LOGIN ")

        Assert.That(
            second.Command "/who",
            Does.StartWith "ERR NOT_LOGGED_IN ",
            "the refused connection is not logged in"
        )

        old.Send "still mine"

        roommate.ExpectMatch((fun l -> Lines.isMsgFrom name l && l.EndsWith " still mine"), "the message")
        |> ignore

        old.AssertNotReceived((fun l -> l.StartsWith "SYS FORCED_LOGOUT"), "a forced logout")
        roommate.AssertNotReceived(Duplicate.about name, "presence events about the user")
        Assert.That(Lines.items "WHO" (old.Command "/who"), Does.Contain name)
        let o, other = this.UserIn("other", room)
        Assert.That(o.Command "/quit", Is.EqualTo "OK QUIT")
        roommate.Expect $"SYS LEAVE {room} {other}" |> ignore
        Assert.That(second.Command $"LOGIN {other} {ServerFixture.Password}", Is.EqualTo $"OK LOGIN {other} lobby")

    [<Test>]
    member this.``once the earlier session has ended, the login succeeds``() =
        let old, name = this.User "x"
        let w, _ = this.User "w"
        let second = this.Connect "second"
        Assert.That(second.Command $"LOGIN {name} {ServerFixture.Password}", Does.StartWith "ERR DUPLICATE_LOGIN ")
        Assert.That(old.Command "/quit", Is.EqualTo "OK QUIT")
        w.Expect $"SYS LEAVE lobby {name}" |> ignore
        second.Login(name, ServerFixture.Password)
        w.Expect $"SYS JOIN lobby {name}" |> ignore
