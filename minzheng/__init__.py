"""民政一体化服务平台 (Minzheng): an integrated civil-affairs social-assistance platform."""
