namespace VisionPlatform.Training.Tests.Concurrency;

public sealed class KeyedAsyncLockTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Holders_of_one_key_take_turns()
    {
        var locks = new KeyedAsyncLock();
        var inside = 0;
        var most = 0;
        var tasks = Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
        {
            using (await locks.AcquireAsync("job"))
            {
                most = Math.Max(most, Interlocked.Increment(ref inside));
                await Task.Yield();
                Interlocked.Decrement(ref inside);
            }
        }));

        await Task.WhenAll(tasks).WaitAsync(Timeout);

        most.Should().Be(1);
        locks.Count.Should().Be(0);
    }

    [Fact]
    public async Task A_second_holder_of_a_key_waits_until_the_first_releases()
    {
        var locks = new KeyedAsyncLock();
        var first = await locks.AcquireAsync("job");
        var second = locks.AcquireAsync("job");

        await Task.Delay(50);
        second.IsCompleted.Should().BeFalse();
        locks.TryAcquire("job").Should().BeNull("the key is held");

        first.Dispose();
        first.Dispose();
        using (await second.WaitAsync(Timeout))
        {
            locks.Count.Should().Be(1);
        }

        locks.Count.Should().Be(0);
    }

    [Fact]
    public async Task Different_keys_do_not_wait_for_each_other()
    {
        var locks = new KeyedAsyncLock();
        using var a = await locks.AcquireAsync("a");

        var b = locks.AcquireAsync("b");
        using var c = locks.TryAcquire("c");

        b.IsCompleted.Should().BeTrue();
        c.Should().NotBeNull();
        locks.Count.Should().Be(3);
        (await b).Dispose();
    }

    [Fact]
    public async Task Entries_are_removed_when_released_so_the_table_does_not_grow()
    {
        var locks = new KeyedAsyncLock();
        for (var i = 0; i < 1000; i++)
        {
            using (await locks.AcquireAsync($"job-{i}"))
            {
            }

            locks.TryAcquire($"other-{i}")!.Dispose();
        }

        locks.Count.Should().Be(0);
    }

    [Fact]
    public async Task Cancelling_a_wait_leaves_the_lock_with_its_holder_and_forgets_the_waiter()
    {
        var locks = new KeyedAsyncLock();
        var held = await locks.AcquireAsync("job");
        using var cancel = new CancellationTokenSource();
        var waiting = locks.AcquireAsync("job", cancel.Token);

        await cancel.CancelAsync();

        await FluentActions.Awaiting(() => waiting).Should().ThrowAsync<OperationCanceledException>();
        locks.Count.Should().Be(1, "the holder still holds it");
        locks.TryAcquire("job").Should().BeNull();
        held.Dispose();
        locks.Count.Should().Be(0);
        using (await locks.AcquireAsync("job").WaitAsync(Timeout))
        {
        }

        locks.Count.Should().Be(0);
    }

    [Fact]
    public async Task An_already_cancelled_token_fails_without_taking_the_lock()
    {
        var locks = new KeyedAsyncLock();

        await FluentActions.Awaiting(() => locks.AcquireAsync("job", new CancellationToken(canceled: true))).Should().ThrowAsync<OperationCanceledException>();

        locks.Count.Should().Be(0);
        locks.TryAcquire("job").Should().NotBeNull();
    }
}
