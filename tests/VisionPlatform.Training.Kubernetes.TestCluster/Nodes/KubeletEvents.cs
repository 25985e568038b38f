using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>
/// The Events one node's kubelet records about the pods it runs, with the kubelet's reasons and wording
/// (pkg/kubelet/events, pkg/kubelet/images/image_manager.go, pkg/kubelet/kuberuntime/kuberuntime_container.go). Every
/// Event names the container it is about (<c>involvedObject.fieldPath: spec.containers{&lt;name&gt;}</c>) and comes
/// from <c>kubelet</c> on the node (<c>source.host</c>, <c>reportingInstance</c>); repeats aggregate (count).
/// </summary>
internal sealed class KubeletEvents
{
    private readonly EventRecorder _recorder;

    public KubeletEvents(EventRecorder recorder) => _recorder = recorder;

    /// <summary>A pull starts (PullingImage).</summary>
    public void Pulling(JsonObject pod, string container, string image) =>
        Normal(pod, container, "Pulling", $"Pulling image \"{image}\"");

    /// <summary>A pull finished (PulledImage). Nothing is downloaded, so the size is 0.</summary>
    public void Pulled(JsonObject pod, string container, string image, TimeSpan took)
    {
        var duration = GoDuration(took);
        Normal(pod, container, "Pulled", $"Successfully pulled image \"{image}\" in {duration} ({duration} including waiting). Image size: 0 bytes.");
    }

    /// <summary>The pull policy let the node use the image it has (PulledImage).</summary>
    public void AlreadyPresent(JsonObject pod, string container, string image) =>
        Normal(pod, container, "Pulled", $"Container image \"{image}\" already present on machine");

    /// <summary>
    /// A pull failed (FailedToPullImage with the runtime's error), then the container could not be created
    /// (FailedToCreateContainer, "Error: ErrImagePull").
    /// </summary>
    public void PullFailed(JsonObject pod, string container, string image, string error)
    {
        Warning(pod, container, "Failed", $"Failed to pull image \"{image}\": {error}");
        Warning(pod, container, "Failed", "Error: ErrImagePull");
    }

    /// <summary>A sync during the pull back-off (BackOffPullImage), and the container again not created ("Error: ImagePullBackOff").</summary>
    public void PullBackOff(JsonObject pod, string container, string image)
    {
        Normal(pod, container, "BackOff", $"Back-off pulling image \"{image}\"");
        Warning(pod, container, "Failed", "Error: ImagePullBackOff");
    }

    /// <summary>The runtime created the container (CreatedContainer).</summary>
    public void Created(JsonObject pod, string container) =>
        Normal(pod, container, "Created", $"Created container: {container}");

    /// <summary>The container's process runs (StartedContainer).</summary>
    public void Started(JsonObject pod, string container) =>
        Normal(pod, container, "Started", $"Started container {container}");

    /// <summary>
    /// The container could not be created or started (FailedToCreateContainer / FailedToStartContainer, both "Failed"):
    /// a CreateContainerConfigError's message or the runtime's start error.
    /// </summary>
    public void Failed(JsonObject pod, string container, string message) =>
        Warning(pod, container, "Failed", "Error: " + message);

    /// <summary>The container is being stopped because its pod is deleted (KillingContainer).</summary>
    public void Killing(JsonObject pod, string container) =>
        Normal(pod, container, "Killing", $"Stopping container {container}");

    /// <summary>
    /// A duration as Go's <c>time.Duration.String()</c> prints it after the kubelet truncates it to milliseconds:
    /// <c>0s</c>, <c>250ms</c>, <c>1.5s</c>, <c>2m3.042s</c>, <c>1h0m0s</c>.
    /// </summary>
    internal static string GoDuration(TimeSpan duration)
    {
        var milliseconds = (long)Math.Max(0, Math.Floor(duration.TotalMilliseconds));
        if (milliseconds == 0)
        {
            return "0s";
        }

        if (milliseconds < 1000)
        {
            return milliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
        }

        var text = new StringBuilder();
        var hours = milliseconds / 3_600_000;
        var minutes = milliseconds / 60_000 % 60;
        if (hours > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{hours}h");
        }

        if (hours > 0 || minutes > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{minutes}m");
        }

        var seconds = milliseconds % 60_000 / 1000m;
        text.Append(seconds.ToString("0.###", CultureInfo.InvariantCulture)).Append('s');
        return text.ToString();
    }

    private static string FieldPath(string container) => $"spec.containers{{{container}}}";

    private void Normal(JsonObject pod, string container, string reason, string message) =>
        _recorder.Record(pod, "Normal", reason, message, FieldPath(container));

    private void Warning(JsonObject pod, string container, string reason, string message) =>
        _recorder.Record(pod, "Warning", reason, message, FieldPath(container));
}
