/// The name rules: what the constructors accept, refuse and fold.
module Chat.Domain.Tests.NamesTests

open System
open NUnit.Framework
open Chat.Domain
open Chat.Domain.Tests.Builders

[<TestCase("alice")>]
[<TestCase("_")>]
[<TestCase("9lives")>]
[<TestCase("a.b-c_d")>]
[<TestCase("abcdefghijklmnopqrstuvwxyz012345")>] // 32 characters
let ``valid usernames are accepted`` (name: string) =
    Username.tryCreate name |> Option.map Username.value =! Some name

[<TestCase("")>]
[<TestCase(".alice")>]
[<TestCase("-alice")>]
[<TestCase("al ice")>]
[<TestCase("al#ice")>]
[<TestCase("élodie")>]
[<TestCase("abcdefghijklmnopqrstuvwxyz0123456")>] // 33 characters
let ``invalid usernames are refused`` (name: string) = Username.tryCreate name =! None

[<Test>]
let ``a null username is refused`` () = Username.tryCreate null =! None

[<Test>]
let ``usernames are folded to lower case`` () =
    Username.tryCreate "AlIcE" |> Option.map Username.value =! Some "alice"
    Username.tryCreate "ALICE" =! Username.tryCreate "alice"

[<TestCase("lobby")>]
[<TestCase("#general")>]
[<TestCase("_x")>]
[<TestCase("a.b-c#d")>]
let ``room names may use # after the first character`` (name: string) =
    let expected = if name.StartsWith '#' then None else Some name
    RoomName.tryCreate name |> Option.map RoomName.value =! expected

[<Test>]
let ``room names are at most 64 characters and folded to lower case`` () =
    RoomName.tryCreate (String('R', 64)) |> Option.map RoomName.value
    =! Some(String('r', 64))

    RoomName.tryCreate (String('r', 65)) =! None
    RoomName.tryCreate "Lobby" =! Some RoomName.lobby
    RoomName.tryCreate "lo bby" =! None

[<Test>]
let ``the default room is lobby`` () =
    RoomName.value RoomName.lobby =! "lobby"

[<Test>]
let ``passwords are 1 to 72 bytes of UTF-8`` () =
    Password.tryCreate "" =! Result.Error Empty
    Password.tryCreate null =! Result.Error Empty

    Password.tryCreate (String('x', 72)) |> Result.map Password.value
    =! Result.Ok(String('x', 72))

    Password.tryCreate (String('x', 73)) =! Result.Error(TooLong 73)

[<Test>]
let ``the password limit counts UTF-8 bytes, not characters`` () =
    // "€" is 3 bytes: 24 of them are exactly 72 bytes, 25 are 75.
    Password.tryCreate (String.replicate 24 "€") |> Result.map Password.length
    =! Result.Ok 24

    Password.tryCreate (String.replicate 25 "€") =! Result.Error(TooLong 75)

[<Test>]
let ``passwords keep their spaces`` () =
    Password.tryCreate " a b " |> Result.map Password.value =! Result.Ok " a b "

[<TestCase("1", true)>]
[<TestCase("room-1:42", true)>]
[<TestCase("~!", true)>]
[<TestCase("", false)>]
[<TestCase("a b", false)>]
[<TestCase("tab\there", false)>]
[<TestCase("é", false)>]
let ``message ids are printable ASCII words`` (id: string, valid: bool) =
    MsgId.tryCreate id |> Option.map MsgId.value
    =! (if valid then Some id else None)

[<Test>]
let ``message ids are at most 64 characters`` () =
    MsgId.tryCreate (String('x', 64)) |> Option.isSome =! true
    MsgId.tryCreate (String('x', 65)) =! None

[<TestCase("srv1-42-Ab", true)>]
[<TestCase("", false)>]
[<TestCase("a_b", false)>]
[<TestCase("a b", false)>]
[<TestCase("a.b", false)>]
let ``session ids are ASCII letters, digits and dashes`` (id: string, valid: bool) =
    SessionId.tryCreate id |> Option.map SessionId.value
    =! (if valid then Some id else None)

[<ChatProperty>]
let ``generated usernames are lower case and re-create themselves`` (u: Username) =
    let v = Username.value u
    v = v.ToLowerInvariant() && Username.tryCreate v = Some u

[<ChatProperty>]
let ``generated room names are lower case and re-create themselves`` (r: RoomName) =
    let v = RoomName.value r
    v = v.ToLowerInvariant() && RoomName.tryCreate v = Some r
