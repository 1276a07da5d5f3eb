"""The password backend: Django's, with the user's region read in the same query (every page and API call needs
it for scoping, so loading it lazily cost each request a second round trip)."""

from django.contrib.auth.backends import ModelBackend


class RegionModelBackend(ModelBackend):
    def get_user(self, user_id):
        from .models import User

        user = User._default_manager.select_related("region").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
