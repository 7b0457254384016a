// Placeholder until this layer lands.
namespace offsite::target {}
