/// `ServerLine.parse`: server lines back into messages, refusing what is not chat/1.
module Chat.Domain.Tests.ServerLineTests

open Expecto
open Chat.Domain
open Chat.Domain.Tests.Builders
open Chat.Tests.Cases

let private parse = ServerLine.parse

[<Tests>]
let tests =
    testList "ServerLineTests" [
        testCase "parses the lines of PROTOCOL.md" (fun () ->
            parse "HELLO chat/1 srv-1 welcome here" =! Some(Hello("srv-1", "welcome here"))
            parse "OK ROOMS a:1 b:2" =! Some(Ok(RoomList [ room "a", 1; room "b", 2 ]))
            parse "OK PONG" =! Some(Ok(Pong None))
            parse "OK PONG abc" =! Some(Ok(Pong(Some "abc")))

            parse "MSG lobby 42 alice hi there"
            =! Some(Msg(lobby, msgId "42", user "alice", "hi there"))

            parse "ERR RATE_LIMITED slow down" =! Some(Err(RateLimited, "slow down"))
            parse "SYS JOIN lobby bob" =! Some(Sys(UserJoined(lobby, user "bob")))
            parse "OK RESUME Alice lobby" =! Some(Ok(Resumed(user "alice", lobby)))

            parse "OK MSG 1700000000000-1 Bob"
            =! Some(Ok(DirectSent(msgId "1700000000000-1", user "bob")))

            parse "OK TOKEN abcdefghijklmnop_-0123"
            =! Some(Ok(TokenIssued(ResumeToken.tryCreate "abcdefghijklmnop_-0123" |> Option.get)))

            parse "DM 1700000000000-2 alice psst  there"
            =! Some(Dm(msgId "1700000000000-2", user "alice", "psst  there")))

        testCase "names in server lines are folded like everywhere else" (fun () ->
            parse "MSG Lobby 1 Alice hi" =! Some(Msg(lobby, msgId "1", user "alice", "hi")))

        testCases
            "lines that are not chat/1 server lines are refused"
            [
                ""
                "HELLO"
                "HELLO chat/2 srv text"
                "HELLO chat/1 srv"
                "hello chat/1 srv text"
                "INFO"
                "OK"
                "OK NOPE"
                "OK JOIN"
                "OK JOIN a b"
                "OK ROOMS a"
                "OK ROOMS a:x"
                "OK WHO"
                "OK USERS b@d"
                "OK PUBLISH id many"
                "OK HISTORY"
                "OK HELP now"
                "OK RESUME alice"
                "OK RESUME b@d lobby"
                "OK TOKEN"
                "OK TOKEN short"
                "OK TOKEN abcdefghijklmnop qrstuvwxyz012345"
                "OK MSG 1-0"
                "OK MSG 1-0 b@d"
                "DM 1-0 alice"
                "DM 1-0 b@d text"
                "ERR"
                "ERR NOT_A_CODE text"
                "ERR BAD_ARGUMENT"
                "MSG lobby 1 alice"
                "MSG b@d 1 alice text"
                "PUB 1 b@d text"
                "HIST lobby 1 alice soon text"
                "SYS"
                "SYS JOIN lobby"
                "SYS LEAVE lobby a b"
                "SYS REBOOT now"
                "WHAT is this"
            ]
            (fun (line: string) -> parse line =! None)

        chatProperty "render then parse gives the message back" (fun (msg: ServerMsg) ->
            ServerLine.parse (Protocol.render msg) = Some msg)

        chatProperty "rendered lines start with an upper-case kind word" (fun (msg: ServerMsg) ->
            let kind = (Protocol.render msg).Split(' ')[0]
            List.contains kind [ "HELLO"; "INFO"; "OK"; "ERR"; "MSG"; "PUB"; "DM"; "HIST"; "SYS" ])

        chatProperty "parse is total on any non-null string" (fun (line: FsCheck.NonNull<string>) ->
            ServerLine.parse line.Get |> ignore)
    ]
