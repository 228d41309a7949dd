module Chat.Server.Tests.BackendContract
