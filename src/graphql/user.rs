//! Users and signing in.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use crate::entity::user;
use crate::error::AppError;
use crate::graphql::connection::UserConnection;
use crate::graphql::context::ContextExt;
use crate::graphql::department::Department;
use crate::graphql::types::DateTime;
use crate::graphql::types::global_id;
use crate::id::{NodeId, NodeKind};
use crate::service::auth;

use crate::service::page::PageArgs;
use crate::service::policy::Role;
use crate::service::user::{self as users, NewUser, UserChanges};

/// A person or system that signs in.
pub struct User(pub user::Model);

impl User {
    fn role_held(&self) -> Role {
        Role::parse(&self.0.role).unwrap_or(Role::Portal)
    }
}

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        global_id(NodeKind::User, self.0.id)
    }
    async fn username(&self) -> &str {
        &self.0.username
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn role(&self) -> Role {
        self.role_held()
    }
    /// The department of a department user.
    async fn department(&self, ctx: &Context<'_>) -> Result<Option<Department>> {
        let Some(department_id) = self.0.department_id else {
            return Ok(None);
        };
        let view = ctx.request().plan_view().await?;
        Ok(Some(Department::of_id(&view, department_id)?))
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Whether the user may approve, reject and reopen submissions (and set due dates and
    /// external targets, and correct and publish plans).
    async fn can_review(&self) -> bool {
        self.role_held().reviews()
    }
    /// Whether the user may create, change and deactivate users.
    async fn can_manage_users(&self) -> bool {
        self.role_held().manages_users()
    }
    /// Whether the user may close and reopen reporting periods.
    async fn can_close_periods(&self) -> bool {
        self.role_held().closes_periods()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

/// A token and the user it signs in.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime,
    pub user: User,
}

impl From<auth::SignIn> for AuthPayload {
    fn from(sign_in: auth::SignIn) -> Self {
        Self {
            token: sign_in.token,
            expires_at: DateTime(sign_in.expires_at),
            user: User(sign_in.user),
        }
    }
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub username: String,
    pub display_name: Option<String>,
    pub password: String,
    pub role: Role,
    /// Required for `DEPARTMENT` users, refused for the others.
    pub department_id: Option<ID>,
}

#[derive(InputObject)]
pub struct UpdateUserInput {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// The new department; give `null` explicitly to remove it.
    pub department_id: async_graphql::MaybeUndefined<ID>,
}

fn department_id(id: &ID) -> Result<i64, AppError> {
    NodeId::decode_as(id, NodeKind::Department)
}

fn user_id(id: &ID) -> Result<i64, AppError> {
    NodeId::decode_as(id, NodeKind::User)
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user; `null` when anonymous.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let request = ctx.request();
        Ok(users::current_user(request.db(), &request.viewer)
            .await?
            .map(User))
    }

    /// Every user, a page at a time (administrators only: `null`, with a `FORBIDDEN`
    /// error, for everyone else).
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Option<UserConnection>> {
        let request = ctx.request();
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = users::list_users(
            request.db(),
            &request.viewer,
            &args,
            request.settings.max_page_size,
        )
        .await?;
        Ok(Some(UserConnection::from_page(page, User)))
    }
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Signs in with a username and password.
    async fn login(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
    ) -> Result<AuthPayload> {
        let request = ctx.request();
        let sign_in = auth::login(
            request.db(),
            &request.token_keys,
            &auth::SignInRequest {
                request_id: &request.request_id,
                client_address: request.client_address,
            },
            &username,
            &password,
        )
        .await;
        if matches!(
            sign_in,
            Err(AppError::BadCredentials | AppError::TooManyAttempts { .. })
        ) {
            request.metrics.failed_logins.inc();
        }
        Ok(sign_in?.into())
    }

    /// A new token for the caller's session, to be asked for before the current token
    /// expires (`UNAUTHENTICATED` after). Refreshing never carries a session past the
    /// longest session from its sign-in (`ECOPLAN_SESSION_MAX_AGE_HOURS`), and a
    /// revocation (a password change, a deactivation) ends the old token and the new.
    async fn refresh_token(&self, ctx: &Context<'_>) -> Result<AuthPayload> {
        let request = ctx.request();
        let refreshed = auth::refresh_token(
            request.db(),
            &request.token_keys,
            &request.viewer,
            request.session_started_at,
        )
        .await?;
        Ok(refreshed.into())
    }

    /// Changes the caller's own password; other sessions end, and a fresh token is returned.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current: String,
        new: String,
    ) -> Result<AuthPayload> {
        let request = ctx.request();
        let user =
            users::change_own_password(request.db(), &request.caller(), &current, &new).await?;
        Ok(auth::issue_token(&request.token_keys, &user)?.into())
    }

    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<User> {
        let request = ctx.request();
        let department_id = input
            .department_id
            .as_ref()
            .map(department_id)
            .transpose()?;
        let new_user = NewUser {
            username: input.username,
            display_name: input.display_name,
            password: input.password,
            role: input.role,
            department_id,
        };
        Ok(User(
            users::create_user(request.db(), &request.caller(), new_user).await?,
        ))
    }

    async fn update_user(&self, ctx: &Context<'_>, id: ID, input: UpdateUserInput) -> Result<User> {
        let request = ctx.request();
        let id = user_id(&id)?;
        let department_id = match input.department_id {
            async_graphql::MaybeUndefined::Undefined => None,
            async_graphql::MaybeUndefined::Null => Some(None),
            async_graphql::MaybeUndefined::Value(id) => Some(Some(department_id(&id)?)),
        };
        let changes = UserChanges {
            display_name: input.display_name,
            role: input.role,
            department_id,
        };
        Ok(User(
            users::update_user(request.db(), &request.caller(), id, changes).await?,
        ))
    }

    async fn deactivate_user(&self, ctx: &Context<'_>, id: ID) -> Result<User> {
        let request = ctx.request();
        Ok(User(
            users::set_active(request.db(), &request.caller(), user_id(&id)?, false).await?,
        ))
    }

    async fn reactivate_user(&self, ctx: &Context<'_>, id: ID) -> Result<User> {
        let request = ctx.request();
        Ok(User(
            users::set_active(request.db(), &request.caller(), user_id(&id)?, true).await?,
        ))
    }

    /// Sets a new password for a user; its existing tokens stop working.
    async fn reset_password(&self, ctx: &Context<'_>, id: ID, password: String) -> Result<User> {
        let request = ctx.request();
        Ok(User(
            users::reset_password(request.db(), &request.caller(), user_id(&id)?, &password)
                .await?,
        ))
    }
}
