/// `ServerLine.parse`: server lines back into messages, refusing what is not chat/1.
module Chat.Domain.Tests.ServerLineTests

open NUnit.Framework
open Chat.Domain
open Chat.Domain.Tests.Builders

let private parse = ServerLine.parse

[<Test>]
let ``parses the lines of PROTOCOL.md`` () =
    parse "HELLO chat/1 srv-1 welcome here" =! Some(Hello("srv-1", "welcome here"))
    parse "OK ROOMS a:1 b:2" =! Some(Ok(RoomList [ room "a", 1; room "b", 2 ]))
    parse "OK PONG" =! Some(Ok(Pong None))
    parse "OK PONG abc" =! Some(Ok(Pong(Some "abc")))

    parse "MSG lobby 42 alice hi there"
    =! Some(Msg(lobby, msgId "42", user "alice", "hi there"))

    parse "ERR RATE_LIMITED slow down" =! Some(Err(RateLimited, "slow down"))
    parse "SYS JOIN lobby bob" =! Some(Sys(UserJoined(lobby, user "bob")))

[<Test>]
let ``names in server lines are folded like everywhere else`` () =
    parse "MSG Lobby 1 Alice hi" =! Some(Msg(lobby, msgId "1", user "alice", "hi"))

[<TestCase("")>]
[<TestCase("HELLO")>]
[<TestCase("HELLO chat/2 srv text")>]
[<TestCase("HELLO chat/1 srv")>]
[<TestCase("hello chat/1 srv text")>]
[<TestCase("INFO")>]
[<TestCase("OK")>]
[<TestCase("OK NOPE")>]
[<TestCase("OK JOIN")>]
[<TestCase("OK JOIN a b")>]
[<TestCase("OK ROOMS a")>]
[<TestCase("OK ROOMS a:x")>]
[<TestCase("OK WHO")>]
[<TestCase("OK USERS b@d")>]
[<TestCase("OK PUBLISH id many")>]
[<TestCase("OK HISTORY")>]
[<TestCase("OK HELP now")>]
[<TestCase("ERR")>]
[<TestCase("ERR NOT_A_CODE text")>]
[<TestCase("ERR BAD_ARGUMENT")>]
[<TestCase("MSG lobby 1 alice")>]
[<TestCase("MSG b@d 1 alice text")>]
[<TestCase("PUB 1 b@d text")>]
[<TestCase("HIST lobby 1 alice soon text")>]
[<TestCase("SYS")>]
[<TestCase("SYS JOIN lobby")>]
[<TestCase("SYS LEAVE lobby a b")>]
[<TestCase("SYS REBOOT now")>]
[<TestCase("WHAT is this")>]
let ``lines that are not chat/1 server lines are refused`` (line: string) = parse line =! None

[<ChatProperty>]
let ``render then parse gives the message back`` (msg: ServerMsg) =
    ServerLine.parse (Protocol.render msg) = Some msg

[<ChatProperty>]
let ``rendered lines start with an upper-case kind word`` (msg: ServerMsg) =
    let kind = (Protocol.render msg).Split(' ')[0]
    List.contains kind [ "HELLO"; "INFO"; "OK"; "ERR"; "MSG"; "PUB"; "HIST"; "SYS" ]

[<ChatProperty>]
let ``parse is total on any non-null string`` (line: FsCheck.NonNull<string>) = ServerLine.parse line.Get |> ignore
