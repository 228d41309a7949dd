/// `Protocol.parse` for the slash commands and their argument errors.
module Chat.Domain.Tests.ParseSlashTests

open System
open NUnit.Framework
open Chat.Domain
open Chat.Domain.Tests.Builders

let private parse = Protocol.parse
let private command c = Some(Result.Ok c)

[<Test>]
let ``commands without arguments`` () =
    parse "/leave" =! command Leave
    parse "/rooms" =! command Rooms
    parse "/who" =! command Who
    parse "/users" =! command Users
    parse "/subs" =! command Subs
    parse "/help" =! command Help
    parse "/quit" =! command Quit

[<Test>]
let ``command words are case-insensitive`` () =
    parse "/WHO" =! command Who
    parse "/Join Games" =! command (Join(room "games"))

[<Test>]
let ``join takes one room name, folded to lower case`` () =
    parse "/join games" =! command (Join(room "games"))
    parse "/join  Dev#Team.1-x " =! command (Join(room "dev#team.1-x"))

[<Test>]
let ``join without exactly one room is a bad argument`` () =
    parse "/join" =! Some(Result.Error(BadArgument(VJoin, "usage: /join <room>")))

    parse "/join   "
    =! Some(Result.Error(BadArgument(VJoin, "usage: /join <room>")))

    parse "/join a b"
    =! Some(Result.Error(BadArgument(VJoin, "usage: /join <room>")))

[<Test>]
let ``join with an invalid room name is a bad argument`` () =
    parse "/join no!pe"
    =! Some(Result.Error(BadArgument(VJoin, "invalid room name: no!pe")))

    badArgumentVerb ("/join " + String('r', 65)) =! Some VJoin

[<Test>]
let ``subscribe and unsubscribe take one username, folded to lower case`` () =
    parse "/subscribe Bob" =! command (Subscribe(user "bob"))
    parse "/unsubscribe bob" =! command (Unsubscribe(user "bob"))

[<Test>]
let ``subscribe and unsubscribe without one valid username are bad arguments`` () =
    badArgumentVerb "/subscribe" =! Some VSubscribe
    badArgumentVerb "/subscribe a b" =! Some VSubscribe

    parse "/subscribe b@d"
    =! Some(Result.Error(BadArgument(VSubscribe, "invalid user name: b@d")))

    badArgumentVerb "/unsubscribe" =! Some VUnsubscribe
    badArgumentVerb "/unsubscribe -x" =! Some VUnsubscribe

[<Test>]
let ``publish takes the rest of the line`` () =
    parse "/publish big news, everyone " =! command (Publish "big news, everyone ")
    parse "/publish   x" =! command (Publish "x")

[<TestCase("/publish")>]
[<TestCase("/publish    ")>]
let ``publish without text is a bad argument`` (line: string) =
    parse line
    =! Some(Result.Error(BadArgument(VPublish, "usage: /publish <text>")))

[<TestCase("/history", 20)>]
[<TestCase("/history 1", 1)>]
[<TestCase("/history  7 ", 7)>]
[<TestCase("/history 100", 100)>]
[<TestCase("/history 101", 100)>]
[<TestCase("/history 2147483647", 100)>]
[<TestCase("/history 99999999999999999999", 100)>]
let ``history defaults to 20 and is clamped to 100`` (line: string, count: int) = parse line =! command (History count)

[<TestCase("/history abc")>]
[<TestCase("/history 0")>]
[<TestCase("/history 000")>]
[<TestCase("/history -1")>]
[<TestCase("/history +5")>]
[<TestCase("/history 1.5")>]
[<TestCase("/history 1 2")>]
[<TestCase("/history ５")>] // a full-width digit is not an ASCII number
let ``history with anything but a positive whole number is a bad argument`` (line: string) =
    parse line
    =! Some(Result.Error(BadArgument(VHistory, "usage: /history [n], n a positive whole number")))

[<Test>]
let ``ping takes an optional token`` () =
    parse "/ping" =! command (Ping None)
    parse "/ping   " =! command (Ping None)
    parse "/ping abc" =! command (Ping(Some "abc"))
    parse "/ping  a b " =! command (Ping(Some "a b"))

[<Test>]
let ``an unknown slash word is an unknown command`` () =
    parse "/nope" =! Some(Result.Error(UnknownCommand "/nope"))
    parse "/nope with args" =! Some(Result.Error(UnknownCommand "/nope"))
    parse "/" =! Some(Result.Error(UnknownCommand "/"))
    parse "/ join x" =! Some(Result.Error(UnknownCommand "/"))
