using VisionPlatform.Training.Kubernetes.TestCluster.Admission;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>
/// Kueue's mutating webhook for batch/v1 Jobs: a Job created with the <c>kueue.x-k8s.io/queue-name</c> label is
/// created suspended, so no pod starts before the Workload is admitted. Jobs without the label are left alone (the
/// default <c>manageJobsWithoutQueueName: false</c>).
/// </summary>
internal sealed class KueueJobWebhook : IAdmissionPlugin
{
    public void Mutate(AdmissionRequest request)
    {
        if (request.Type != ResourceType.Jobs || string.IsNullOrEmpty(request.Object.Label(KueueNames.QueueLabel)))
        {
            return;
        }

        request.Object.Obj("spec")["suspend"] = true;
    }
}
