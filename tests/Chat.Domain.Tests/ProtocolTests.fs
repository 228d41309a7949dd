module Chat.Domain.Tests.ProtocolTests

open NUnit.Framework
open Chat.Domain

[<Test>]
let ``blank lines are ignored`` () =
    Assert.That(Protocol.parse "   ", Is.EqualTo(None: Result<Command, ParseError> option))
