/// `Protocol.parse` for blank lines, room messages, LOGIN and REGISTER.
module Chat.Domain.Tests.ParseTests

open System
open Expecto
open Chat.Domain
open Chat.Domain.Tests.Builders
open Chat.Tests.Cases

let private parse = Protocol.parse

[<Tests>]
let tests =
    testList "ParseTests" [
        testCases "blank lines are ignored" [ ""; " "; "   "; "\t \t" ] (fun (line: string) -> parse line =! None)

        testCase "a null line is ignored" (fun () -> parse null =! None)

        testCases
            "a line not starting with a slash is a room message, verbatim"
            [
                "hello"
                "hello world, with  spaces "
                " leading space"
                "login alice secret123" // the LOGIN keyword is upper case; this is a message
                "LOGINalice secret123"
                "x/y"
            ]
            (fun (line: string) -> parse line =! Some(Result.Ok(Say line)))

        testCases
            "a double slash sends the line without its first slash"
            [ "//text", "/text"; "//join lobby", "/join lobby"; "//", "/"; "/// x", "// x" ]
            (fun (line: string, text: string) -> parse line =! Some(Result.Ok(Say text)))

        testCase "LOGIN takes a username and the rest of the line as password" (fun () ->
            parse "LOGIN alice secret123"
            =! Some(Result.Ok(Login(user "alice", password "secret123")))

            parse "LOGIN alice my pass phrase "
            =! Some(Result.Ok(Login(user "alice", password "my pass phrase ")))

            parse "LOGIN   alice   pw"
            =! Some(Result.Ok(Login(user "alice", password "pw"))))

        testCase "REGISTER takes a username and the rest of the line as password" (fun () ->
            parse "REGISTER bob hunter22 x"
            =! Some(Result.Ok(Register(user "bob", password "hunter22 x"))))

        testCase "LOGIN and REGISTER fold the username to lower case" (fun () ->
            parse "LOGIN Alice pw" =! Some(Result.Ok(Login(user "alice", password "pw")))
            parse "REGISTER BOB pw" =! Some(Result.Ok(Register(user "bob", password "pw"))))

        testCase "LOGIN without arguments is a bad argument" (fun () ->
            parse "LOGIN"
            =! Some(Result.Error(BadArgument(VLogin, "missing username and password")))

            parse "LOGIN   "
            =! Some(Result.Error(BadArgument(VLogin, "missing username and password"))))

        testCase "LOGIN without a password is a bad argument" (fun () ->
            parse "LOGIN alice"
            =! Some(Result.Error(BadArgument(VLogin, "missing password")))

            parse "LOGIN alice   "
            =! Some(Result.Error(BadArgument(VLogin, "missing password"))))

        testCases
            "LOGIN with an invalid username is a bad argument"
            [
                "LOGIN al!ce pw"
                "LOGIN .alice pw"
                "LOGIN abcdefghijklmnopqrstuvwxyz0123456 pw"
            ]
            (fun (line: string) ->
                parse line
                =! Some(Result.Error(BadArgument(VLogin, "invalid username (letters, digits, _ . -; at most 32)"))))

        testCase "a password of 72 bytes is accepted" (fun () ->
            parse ("LOGIN alice " + String('p', 72))
            =! Some(Result.Ok(Login(user "alice", password (String('p', 72))))))

        testCase "a password over 72 bytes is refused, never cut" (fun () ->
            parse ("LOGIN alice " + String('p', 73))
            =! Some(Result.Error(BadArgument(VLogin, "password is 73 bytes; at most 72")))
            // 25 three-byte characters: 25 characters, 75 bytes.
            parse ("REGISTER alice " + String.replicate 25 "€")
            =! Some(Result.Error(BadArgument(VRegister, "password is 75 bytes; at most 72"))))

        testCases
            "REGISTER with missing or malformed arguments is a bad argument"
            [ "REGISTER"; "REGISTER bob"; "REGISTER b@b password1" ]
            (fun (line: string) -> badArgumentVerb line =! Some VRegister)
    ]
