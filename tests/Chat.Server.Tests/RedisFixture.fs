module Chat.Server.Tests.RedisFixture
