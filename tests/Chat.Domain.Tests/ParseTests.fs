/// `Protocol.parse` for blank lines, room messages, LOGIN and REGISTER.
module Chat.Domain.Tests.ParseTests

open System
open NUnit.Framework
open Chat.Domain
open Chat.Domain.Tests.Builders

let private parse = Protocol.parse

[<TestCase("")>]
[<TestCase(" ")>]
[<TestCase("   ")>]
[<TestCase("\t \t")>]
let ``blank lines are ignored`` (line: string) = parse line =! None

[<Test>]
let ``a null line is ignored`` () = parse null =! None

[<TestCase("hello")>]
[<TestCase("hello world, with  spaces ")>]
[<TestCase(" leading space")>]
[<TestCase("login alice secret123")>] // the LOGIN keyword is upper case; this is a message
[<TestCase("LOGINalice secret123")>]
[<TestCase("x/y")>]
let ``a line not starting with a slash is a room message, verbatim`` (line: string) =
    parse line =! Some(Result.Ok(Say line))

[<TestCase("//text", "/text")>]
[<TestCase("//join lobby", "/join lobby")>]
[<TestCase("//", "/")>]
[<TestCase("/// x", "// x")>]
let ``a double slash sends the line without its first slash`` (line: string, text: string) =
    parse line =! Some(Result.Ok(Say text))

[<Test>]
let ``LOGIN takes a username and the rest of the line as password`` () =
    parse "LOGIN alice secret123"
    =! Some(Result.Ok(Login(user "alice", password "secret123")))

    parse "LOGIN alice my pass phrase "
    =! Some(Result.Ok(Login(user "alice", password "my pass phrase ")))

    parse "LOGIN   alice   pw"
    =! Some(Result.Ok(Login(user "alice", password "pw")))

[<Test>]
let ``REGISTER takes a username and the rest of the line as password`` () =
    parse "REGISTER bob hunter22 x"
    =! Some(Result.Ok(Register(user "bob", password "hunter22 x")))

[<Test>]
let ``LOGIN and REGISTER fold the username to lower case`` () =
    parse "LOGIN Alice pw" =! Some(Result.Ok(Login(user "alice", password "pw")))
    parse "REGISTER BOB pw" =! Some(Result.Ok(Register(user "bob", password "pw")))

[<Test>]
let ``LOGIN without arguments is a bad argument`` () =
    parse "LOGIN"
    =! Some(Result.Error(BadArgument(VLogin, "missing username and password")))

    parse "LOGIN   "
    =! Some(Result.Error(BadArgument(VLogin, "missing username and password")))

[<Test>]
let ``LOGIN without a password is a bad argument`` () =
    parse "LOGIN alice"
    =! Some(Result.Error(BadArgument(VLogin, "missing password")))

    parse "LOGIN alice   "
    =! Some(Result.Error(BadArgument(VLogin, "missing password")))

[<TestCase("LOGIN al!ce pw")>]
[<TestCase("LOGIN .alice pw")>]
[<TestCase("LOGIN abcdefghijklmnopqrstuvwxyz0123456 pw")>]
let ``LOGIN with an invalid username is a bad argument`` (line: string) =
    parse line
    =! Some(Result.Error(BadArgument(VLogin, "invalid username (letters, digits, _ . -; at most 32)")))

[<Test>]
let ``a password of 72 bytes is accepted`` () =
    parse ("LOGIN alice " + String('p', 72))
    =! Some(Result.Ok(Login(user "alice", password (String('p', 72)))))

[<Test>]
let ``a password over 72 bytes is refused, never cut`` () =
    parse ("LOGIN alice " + String('p', 73))
    =! Some(Result.Error(BadArgument(VLogin, "password is 73 bytes; at most 72")))
    // 25 three-byte characters: 25 characters, 75 bytes.
    parse ("REGISTER alice " + String.replicate 25 "€")
    =! Some(Result.Error(BadArgument(VRegister, "password is 75 bytes; at most 72")))

[<TestCase("REGISTER")>]
[<TestCase("REGISTER bob")>]
[<TestCase("REGISTER b@b password1")>]
let ``REGISTER with missing or malformed arguments is a bad argument`` (line: string) =
    badArgumentVerb line =! Some VRegister
