/// The name rules: what the constructors accept, refuse and fold.
module Chat.Domain.Tests.NamesTests

open System
open Expecto
open Chat.Domain
open Chat.Domain.Tests.Builders
open Chat.Tests.Cases

[<Tests>]
let tests =
    testList "NamesTests" [
        testCases
            "valid usernames are accepted"
            [
                "alice"
                "_"
                "9lives"
                "a.b-c_d"
                "abcdefghijklmnopqrstuvwxyz012345" // 32 characters
            ]
            (fun name -> Username.tryCreate name |> Option.map Username.value =! Some name)

        testCases
            "invalid usernames are refused"
            [
                ""
                ".alice"
                "-alice"
                "al ice"
                "al#ice"
                "élodie"
                "abcdefghijklmnopqrstuvwxyz0123456" // 33 characters
            ]
            (fun name -> Username.tryCreate name =! None)

        testCase "a null username is refused" (fun () -> Username.tryCreate null =! None)

        testCase "usernames are folded to lower case" (fun () ->
            Username.tryCreate "AlIcE" |> Option.map Username.value =! Some "alice"
            Username.tryCreate "ALICE" =! Username.tryCreate "alice")

        testCases "room names may use # after the first character" [ "lobby"; "#general"; "_x"; "a.b-c#d" ] (fun name ->
            let expected = if name.StartsWith '#' then None else Some name
            RoomName.tryCreate name |> Option.map RoomName.value =! expected)

        testCase "room names are at most 64 characters and folded to lower case" (fun () ->
            RoomName.tryCreate (String('R', 64)) |> Option.map RoomName.value
            =! Some(String('r', 64))

            RoomName.tryCreate (String('r', 65)) =! None
            RoomName.tryCreate "Lobby" =! Some RoomName.lobby
            RoomName.tryCreate "lo bby" =! None)

        testCase "the default room is lobby" (fun () -> RoomName.value RoomName.lobby =! "lobby")

        testCase "passwords are 1 to 72 bytes of UTF-8" (fun () ->
            Password.tryCreate "" =! Result.Error Empty
            Password.tryCreate null =! Result.Error Empty

            Password.tryCreate (String('x', 72)) |> Result.map Password.value
            =! Result.Ok(String('x', 72))

            Password.tryCreate (String('x', 73)) =! Result.Error(TooLong 73))

        testCase "the password limit counts UTF-8 bytes, not characters" (fun () ->
            // "€" is 3 bytes: 24 of them are exactly 72 bytes, 25 are 75.
            Password.tryCreate (String.replicate 24 "€") |> Result.map Password.length
            =! Result.Ok 24

            Password.tryCreate (String.replicate 25 "€") =! Result.Error(TooLong 75))

        testCase "passwords keep their spaces" (fun () ->
            Password.tryCreate " a b " |> Result.map Password.value =! Result.Ok " a b ")

        testCases
            "message ids are printable ASCII words"
            [
                "1", true
                "room-1:42", true
                "~!", true
                "", false
                "a b", false
                "tab\there", false
                "é", false
            ]
            (fun (id: string, valid: bool) ->
                MsgId.tryCreate id |> Option.map MsgId.value
                =! (if valid then Some id else None))

        testCase "message ids are at most 64 characters" (fun () ->
            MsgId.tryCreate (String('x', 64)) |> Option.isSome =! true
            MsgId.tryCreate (String('x', 65)) =! None)

        testCases
            "session ids are ASCII letters, digits and dashes"
            [ "srv1-42-Ab", true; "", false; "a_b", false; "a b", false; "a.b", false ]
            (fun (id: string, valid: bool) ->
                SessionId.tryCreate id |> Option.map SessionId.value
                =! (if valid then Some id else None))

        chatProperty "generated usernames are lower case and re-create themselves" (fun (u: Username) ->
            let v = Username.value u
            v = v.ToLowerInvariant() && Username.tryCreate v = Some u)

        chatProperty "generated room names are lower case and re-create themselves" (fun (r: RoomName) ->
            let v = RoomName.value r
            v = v.ToLowerInvariant() && RoomName.tryCreate v = Some r)
    ]
