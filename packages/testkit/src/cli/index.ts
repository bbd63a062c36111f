/**
 * The pieces `podid-sim` starts, for programs that assemble their own simulated cluster: the embedded
 * kube-apiserver with the podid CRDs, the Azure fakes (ARM, IMDS, AAD) with an `azure.json`, and a free
 * loopback port.
 * @packageDocumentation
 */
export { startEmbeddedCluster, type ClusterComponent, type EmbeddedCluster, type EmbeddedClusterOptions } from "./embedded-cluster.js";
export { startAzureCloud, type AzureCloud, type AzureCloudOptions, type DemoServicePrincipal } from "./azure-cloud.js";
export { freePort } from "./free-port.js";
