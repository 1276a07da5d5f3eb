from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("", views.search, name="search"),
    path("households/new/", views.household_create, name="household_create"),
    path("households/<id:pk>/", views.household_detail, name="household"),
    path("households/<id:pk>/edit/", views.household_edit, name="household_edit"),
    path("households/<id:pk>/members/", views.household_members, name="members"),
    path("households/<id:pk>/members/add/", views.member_add, name="member_add"),
    path("households/<id:pk>/members/move-in/", views.member_move_in, name="member_move_in"),
    path("households/<id:pk>/members/leave/", views.member_leave, name="member_leave"),
    path("households/<id:pk>/head/", views.head_change, name="head_change"),
    path("persons/<id:pk>/", views.person_detail, name="person"),
    path("persons/<id:pk>/edit/", views.person_edit, name="person_edit"),
    path("organisations/", views.organisation_list, name="organisations"),
    path("organisations/new/", views.organisation_form, name="organisation_create"),
    path("organisations/<id:pk>/edit/", views.organisation_form, name="organisation_edit"),
]
