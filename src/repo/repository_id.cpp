// Placeholder until this layer lands.
namespace offsite::repo {}
